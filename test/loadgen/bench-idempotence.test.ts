/**
 * `kstream bench produce` and `kstream produce` are idempotent by default and not with --no-idempotence
 * (issue 16): the JSON report says which ran, and the stored batches carry a producer id (>= 0) or none (-1).
 * No timing assertions: the cost is measured by bench/idempotence.sh.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { BIN, type BrokerProcess, ROOT, removeDir, startBroker } from '../helpers/broker.js';
import { storedProducerIds } from '../helpers/stored-batches.js';

let broker: BrokerProcess;

before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
});

function kstream(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args, '-b', broker.bootstrap], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    input,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const on of [true, false]) {
  test(`bench produce ${on ? '(default: idempotent)' : '--no-idempotence'}`, async () => {
    const topic = on ? 'bench-idem' : 'bench-plain';
    const r = kstream([
      'bench',
      'produce',
      '-t',
      topic,
      '-n',
      '2000',
      '-s',
      '20',
      '-o',
      'json',
      ...(on ? [] : ['--no-idempotence']),
    ]);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { records: number; config: { idempotence: boolean } };
    assert.equal(report.records, 2000);
    assert.equal(report.config.idempotence, on);
    const ids = [...(await storedProducerIds(broker.port, topic))];
    assert.equal(ids.length, 1);
    assert.ok(on ? ids[0]! >= 0n : ids[0] === -1n, `producer id ${ids[0]}`);
  });

  test(`produce ${on ? '(default: idempotent)' : '--no-idempotence'}`, async () => {
    const topic = on ? 'cli-idem' : 'cli-plain';
    assert.equal(kstream(['topic', 'create', topic]).status, 0);
    const r = kstream(['produce', topic, ...(on ? [] : ['--no-idempotence'])], 'a\nb\nc\n');
    assert.equal(r.status, 0, r.stderr);
    const ids = [...(await storedProducerIds(broker.port, topic))];
    assert.equal(ids.length, 1);
    assert.ok(on ? ids[0]! >= 0n : ids[0] === -1n, `producer id ${ids[0]}`);
  });
}
