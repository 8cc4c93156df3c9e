/**
 * etcd's own users (issue 18): with authentication enabled in a real etcd, the metadata store logs in with
 * `etcd.username` and the password in the first line of `etcd.password.file` (read through the broker's
 * config, as `kstream serve` does); without a login etcd refuses it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { brokerConfig } from '../../src/broker/config.js';
import { EtcdStore } from '../../src/cluster/etcd-store.js';
import { silentLogger } from '../../src/util/logger.js';
import { removeDir, tempDir } from '../helpers/broker.js';
import { type EtcdProcess, startEtcd } from '../helpers/etcd.js';

const PASSWORD = `root-${randomBytes(8).toString('hex')}`;
let etcd: EtcdProcess | undefined;
let dir: string;

before(async () => {
  dir = tempDir('kstream-etcd-auth-');
  etcd = await startEtcd();
  const admin = new Etcd3({ hosts: etcd.url });
  try {
    await admin.role('root').create();
    await admin.user('root').create(PASSWORD);
    await admin.user('root').addRole('root');
    await admin.auth.authEnable();
  } finally {
    admin.close();
  }
});

after(async () => {
  await etcd?.stop();
  if (dir) removeDir(dir);
});

test('etcd.username and etcd.password.file log the store in; without them etcd refuses', async () => {
  const url = (etcd as EtcdProcess).url;
  const file = join(dir, 'etcd.pw');
  writeFileSync(file, `${PASSWORD}\n`);
  const config = brokerConfig({
    props: { 'etcd.endpoints': url, 'etcd.username': 'root', 'etcd.password.file': file },
  });
  assert.deepEqual(config.etcdSecurity, { auth: { username: 'root', password: PASSWORD } });
  const store = new EtcdStore(config.etcd, 'auth', silentLogger, config.etcdSecurity);
  try {
    await store.put('topics/a', 'x');
    assert.equal((await store.get('topics/a'))?.value, 'x');
  } finally {
    await store.close();
  }
  const anonymous = new EtcdStore([url], 'auth', silentLogger);
  try {
    await assert.rejects(anonymous.get('topics/a'));
  } finally {
    await anonymous.close();
  }
});
