/**
 * `kstream bench produce --transactional-id ID --txn-size N` (issue 17's benchmark): the records go in
 * transactions of N records that commit, so a read_committed consumer reads every one of them, and the
 * report says the transaction size. No timing assertions: the cost is measured in docs/benchmarks.md.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { BIN, type BrokerProcess, ROOT, removeDir, startBroker } from '../helpers/broker.js';

let broker: BrokerProcess;

before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
});

function kstream(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args, '-b', broker.bootstrap], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('bench produce --transactional-id: every record committed in transactions of --txn-size', () => {
  const r = kstream(
    ['bench', 'produce', '-t', 'bench-txn', '-n', '2500', '-s', '20', '-p', '2', '--producers', '2'].concat([
      '-o',
      'json',
      '--transactional-id',
      'bt',
      '--txn-size',
      '300',
    ]),
  );
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { records: number; config: { transactionSize?: number } };
  assert.equal(report.records, 2500);
  assert.equal(report.config.transactionSize, 300);
  // read_committed sees all of them: each transaction committed (an open one would hold the LSO back).
  const c = kstream([
    'consume',
    'bench-txn',
    '--from-beginning',
    '-e',
    '--isolation',
    'read_committed',
    '-f',
    '%p/%o\n',
  ]);
  assert.equal(c.status, 0, c.stderr);
  assert.equal(c.stdout.trim().split('\n').length, 2500);
  // Both instances' transactional ids are known to the coordinator, with no transaction left open.
  const l = kstream(['txn', 'list', '-o', 'json']);
  assert.equal(l.status, 0, l.stderr);
  const ids = (JSON.parse(l.stdout) as { transactionalId: string; state: string }[])
    .filter((t) => t.transactionalId.startsWith('bt-'))
    .map((t) => `${t.transactionalId} ${t.state}`)
    .sort();
  assert.deepEqual(ids, ['bt-0 CompleteCommit', 'bt-1 CompleteCommit']);
});

test('bench produce --transactional-id with --acks 1: one-line usage error, exit 2', () => {
  const r = kstream(['bench', 'produce', '-n', '10', '--transactional-id', 'x', '--acks', '1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--transactional-id needs --acks all/);
});
