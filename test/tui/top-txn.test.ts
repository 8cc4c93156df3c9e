/**
 * Issue 17: `kstream top` in a real terminal (tmux) against `kstream serve` shows open transactions and where a
 * partition's last stable offset holds read_committed consumers back. A transactional producer leaves a
 * transaction open on txn-top/1 with 7 records (and 3 plain records are written after them): the header counts
 * the open transaction, the topics screen shows it under the table (id, state, producer id/epoch, age,
 * partitions) and a TXN-HELD column with 10 on txn-top (HW − LSO: the 7 + the 3 behind them); drilled into
 * the topic, partition 1 has 10 held back and partition 0 none. Once the transaction commits, all of it goes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Producer } from '../../src/client/index.js';
import { kstream } from '../cli/run.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { startTerminal, type Terminal } from './tmux.js';

let broker: BrokerProcess;
let term: Terminal | undefined;
const producers: Producer[] = [];

before(async () => {
  broker = await startBroker();
  const r = await kstream(['topic', 'create', 'txn-top', '-p', '2', '-b', broker.bootstrap]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  term?.kill();
  for (const p of producers) await p.close().catch(() => {});
  await broker?.stop();
  removeDir(broker?.dataDir ?? '');
});

/** The cell under `title` in the row that starts with `first` (cells are right-aligned under their title). */
function cellUnder(screen: string, header: RegExp, first: RegExp, title: string): string | null {
  const lines = screen.split('\n');
  const h = lines.find((l) => header.test(l));
  const row = lines.find((l) => first.test(l));
  if (!h || !row || !h.includes(title)) return null;
  const end = h.indexOf(title) + title.length;
  return row.slice(0, end).trimEnd().split(/\s+/).pop() ?? null;
}

test('top shows an open transaction and the records its LSO holds back, and neither once it commits', {
  timeout: 180_000,
}, async () => {
  const tx = new Producer({ brokers: broker.bootstrap, transactionalId: 'top-txn-1', transactionTimeoutMs: 300_000 });
  producers.push(tx);
  await tx.initTransactions();
  tx.beginTransaction();
  await tx.sendBatch(Array.from({ length: 7 }, (_, i) => ({ topic: 'txn-top', partition: 1, value: `open-${i}` })));
  const plain = new Producer({ brokers: broker.bootstrap });
  producers.push(plain);
  await plain.sendBatch(Array.from({ length: 3 }, (_, i) => ({ topic: 'txn-top', partition: 1, value: `after-${i}` })));
  await plain.send({ topic: 'txn-top', partition: 0, value: 'elsewhere' });

  term = startTerminal(`node bin/run.js top -b ${broker.bootstrap} --interval 500ms; echo TOP_EXIT=$?; sleep 60`, {
    width: 160,
    height: 40,
  });
  const screen = await term.waitFor('the open transaction on the topics screen', (s) =>
    /OPEN TRANSACTIONS/.test(s) && /top-txn-1 {2}Ongoing {2}pid \d+\/\d+ {2}open \S+ of 5m00s {2}txn-top-1/.test(s)
      ? s
      : null,
  );
  assert.match(screen, /open txns 1/, 'the header counts it');
  await term.waitFor('TXN-HELD 10 on txn-top', (s) => cellUnder(s, /^TOPIC\s/, /^txn-top\s/, 'TXN-HELD') === '10');

  // Drilled into the topic: partition 1 holds 10 back, partition 0 nothing.
  term.keys('Enter');
  await term.waitFor('partition 1 holding 10 back', (s) => {
    const held1 = cellUnder(s, /^\s*P\s+LEADER/, /^\s*1\s+\d/, 'TXN-HELD');
    const held0 = cellUnder(s, /^\s*P\s+LEADER/, /^\s*0\s+\d/, 'TXN-HELD');
    return held1 === '10' && held0 === '-';
  });
  assert.match(term.screen(), /OPEN TRANSACTIONS/, "the topic's open transaction is listed under its partitions");

  await tx.commitTransaction();
  await term.waitFor(
    'no open transaction after the commit',
    (s) => !/OPEN TRANSACTIONS/.test(s) && !/TXN-HELD/.test(s) && !/open txns/.test(s) && /^\s*1\s+\d/m.test(s),
  );
  term.keys('q');
  await term.waitFor('top to exit', (s) => /TOP_EXIT=0/.test(s));
});
