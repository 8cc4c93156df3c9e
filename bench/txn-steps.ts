/**
 * One transaction's steps, serialized (issue 17): a kstream transactional producer sends transactions of 1,000
 * records of 100 B to one partition, 300 in a row, and the client times AddPartitionsToTxn and EndTxn (the
 * requests to the coordinator) and each whole transaction; the produce is the rest.
 *
 *   node --import tsx bench/txn-steps.ts HOST:PORT [LINGER_MS]     (topic `phase`, 1 partition, made first)
 */
import { Producer } from '../src/client/producer.js';

async function main(): Promise<void> {
  const broker = process.argv[2] as string;
  const linger = Number(process.argv[3] ?? 5);
  const p = new Producer({
    brokers: broker,
    clientId: 'txn-steps',
    acks: -1,
    lingerMs: linger,
    batchSize: 1048576,
    transactionalId: `txn-steps-${linger}`,
  });
  await p.connect();
  await p.initTransactions();
  const recs = new Array(1000).fill({ topic: 'phase', value: Buffer.alloc(100, 1) });
  await p.cluster.metadataFor(['phase']);
  const per = new Map<string, number[]>();
  const cluster = p.cluster as unknown as { request: (...a: unknown[]) => Promise<unknown> };
  const orig = cluster.request.bind(cluster);
  cluster.request = async (...a: unknown[]) => {
    const t = performance.now();
    try {
      return await orig(...a);
    } finally {
      const api = a[1] as { name?: string };
      const k = String(api?.name);
      per.set(k, [...(per.get(k) ?? []), performance.now() - t]);
    }
  };
  const tot: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    p.beginTransaction();
    const s = p.sendAll(recs);
    await p.commitTransaction();
    await s;
    tot.push(performance.now() - t0);
  }
  const med = (a: number[]) => ([...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number).toFixed(2);
  console.log(
    `linger ${linger}: per transaction ${med(tot)} ms; ${[...per].map(([k, v]) => `${k} n=${v.length} median ${med(v)} ms`).join('; ')}`,
  );
  await p.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
