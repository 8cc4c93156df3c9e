/**
 * Developer tool: capture real clients' request frames as golden fixtures.
 * Starts a broker (built dist/) that advertises a loopback proxy in front of it, runs kcat,
 * confluent-kafka-python and kafka-python through the proxy, and writes the first request of each
 * (client, api, version) to test/protocol/fixtures/requests/<client>-<api>-v<version>.hex.
 *
 *   node scripts/build.js && node --import tsx scripts/capture-fixtures.ts
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { API_BY_KEY } from '../src/protocol/messages/index.js';
import { removeDir, startBroker } from '../test/helpers/broker.js';

const out = 'test/protocol/fixtures/requests';
mkdirSync(out, { recursive: true });
let client = 'unknown';
const seen = new Set<string>();

let brokerPort = 0;
const proxy = createServer((down) => {
  const up = connect({ host: '127.0.0.1', port: brokerPort });
  let buf = Buffer.alloc(0);
  down.on('data', (d) => {
    up.write(d);
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
      buf = buf.subarray(4 + frame.length);
      const key = frame.readInt16BE(0);
      const version = frame.readInt16BE(2);
      const name = `${client}-${API_BY_KEY.get(key)?.name ?? key}-v${version}`;
      if (!seen.has(name) && frame.length < 64 * 1024) {
        seen.add(name);
        writeFileSync(`${out}/${name}.hex`, `${frame.toString('hex')}\n`);
      }
    }
  });
  up.on('data', (d) => down.write(d));
  up.on('close', () => down.destroy());
  down.on('close', () => up.destroy());
  up.on('error', () => down.destroy());
  down.on('error', () => up.destroy());
});

proxy.listen(0, '127.0.0.1', async () => {
  const addr = proxy.address();
  const proxyPort = typeof addr === 'object' && addr ? addr.port : 0;
  const broker = await startBroker({ args: ['--advertised-port', String(proxyPort)] });
  brokerPort = broker.port;
  const bootstrap = `127.0.0.1:${proxyPort}`;
  // Asynchronous: the proxy runs in this process's event loop.
  const run = (name: string, cmd: string, args: string[], input?: string) =>
    new Promise<void>((resolve, reject) => {
      client = name;
      const child = execFile(cmd, args, { timeout: 60_000 }, (err) => (err ? reject(err) : resolve()));
      child.stdin?.end(input ?? '');
    });
  await run(
    'kcat',
    'kcat',
    ['-b', bootstrap, '-P', '-t', 'golden', '-K', ':', '-z', 'snappy'],
    `k1:v1${'x'.repeat(200)}\nk2:v2${'x'.repeat(200)}\n`,
  );
  await run('kcat', 'kcat', ['-b', bootstrap, '-C', '-t', 'golden', '-e', '-o', 'beginning']);
  await run('kcat', 'kcat', ['-b', bootstrap, '-L']);
  const py = `
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "acks": "all", "compression.type": "zstd"})
p.produce("golden", key=b"ck", value=b"confluent" + b"x" * 200, headers=[("h", b"1")])
p.flush(10)
`;
  await run('confluent', '/usr/bin/python3', ['-c', py, bootstrap]);
  const kp = `
import sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1], acks="all", compression_type="gzip")
p.send("golden", key=b"kp", value=b"kafka-python" + b"x" * 200, headers=[("h", b"2")]).get(10)
p.close()
`;
  await run('kafka-python', '/usr/bin/python3', ['-c', kp, bootstrap]);
  proxy.close();
  await broker.stop();
  removeDir(broker.dataDir);
  // Compression is only applied when it shrinks the batch: the values above are long and repetitive.
  console.log([...seen].sort().join('\n'));
});
