/**
 * kstream's own producer (src/client) for the fault harness: acks=all, values "<NAME>-<i>" round-robin over
 * partitions 0..N-1 at a steady rate until SIGTERM; then it flushes for at most FLUSH seconds and exits. The
 * same line protocol as producer.py (S / A / F / DONE); a fatal client error is printed ("X <message>") and
 * exits 1.
 *
 *   node --import tsx kstream-producer.ts BOOTSTRAP TOPIC PARTITIONS RATE NAME FLUSH
 */
import { Producer } from '../../../src/client/index.js';

const [bootstrap, topic, partitionsArg, rateArg, name, flushArg] = process.argv.slice(2) as string[];
const partitions = Number(partitionsArg);
const rate = Number(rateArg);
const out = (line: string) => process.stdout.write(`${line}\n`);

const producer = new Producer({
  brokers: bootstrap as string,
  clientId: name,
  acks: 'all',
  lingerMs: 5,
  deliveryTimeoutMs: 30_000,
  requestTimeoutMs: 10_000,
});
let running = true;
process.once('SIGTERM', () => {
  running = false;
});
process.once('SIGINT', () => {
  running = false;
});

const start = performance.now();
let i = 0;
try {
  await producer.connect();
  while (running) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) {
      await new Promise((r) => setTimeout(r, Math.min(wait, 50)));
      continue;
    }
    const partition = i % partitions;
    const value = `${name}-${i}`;
    i++;
    out(`S ${partition} ${value}`);
    producer.send({ topic: topic as string, partition, value }).then(
      (md) => out(`A ${md.partition} ${md.offset} ${value}`),
      (e: Error) => out(`F ${partition} ${value} ${e.message.replace(/\n/g, ' ')}`),
    );
  }
  await Promise.race([producer.flush(), new Promise((r) => setTimeout(r, Number(flushArg) * 1000))]);
  out(`DONE ${i}`);
  await Promise.race([producer.close(), new Promise((r) => setTimeout(r, 2000))]);
  process.exit(0);
} catch (e) {
  out(`X ${(e as Error).message.replace(/\n/g, ' ')}`);
  process.exit(1);
}
