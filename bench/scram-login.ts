/**
 * The cost of a SASL login, for bench/security.sh: --count connections made one after another to one listener
 * with kstream's client (TCP, TLS with --ca, ApiVersions, and with --mechanism the SASL login: SaslHandshake and
 * SaslAuthenticate, SCRAM's salted password computed by the client as every SCRAM client does), each closed once
 * open. Without --mechanism the same connections without a login (the baseline to subtract).
 *
 *   KSTREAM_PASSWORD=… node --import tsx bench/scram-login.ts --port 9094 --ca ca.crt [--mechanism SCRAM-SHA-512]
 *       [--user admin] [--count 200] [--warmup 20]
 *
 * Prints one JSON line: {count, medianMs, p90Ms, meanMs}.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Connection, type SaslCredentials } from '../src/client/connection.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    ca: { type: 'string' },
    mechanism: { type: 'string' },
    user: { type: 'string', default: 'admin' },
    count: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
  },
});
if (!values.port) throw new Error('--port is required');
const port = Number(values.port);
const tls = values.ca ? { ca: readFileSync(values.ca, 'utf8') } : undefined;
let sasl: SaslCredentials | undefined;
if (values.mechanism) {
  const password = process.env.KSTREAM_PASSWORD;
  if (!password) throw new Error('KSTREAM_PASSWORD is not set');
  sasl = { mechanism: values.mechanism as SaslCredentials['mechanism'], user: values.user, password };
}

async function once(): Promise<number> {
  const t0 = performance.now();
  const c = await Connection.connect({ host: values.host, port, tls, sasl, clientId: 'kstream-login-bench' });
  const ms = performance.now() - t0;
  c.close();
  return ms;
}

for (let i = 0; i < Number(values.warmup); i++) await once();
const times: number[] = [];
for (let i = 0; i < Number(values.count); i++) times.push(await once());
times.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] as number;
const round = (n: number) => Math.round(n * 100) / 100;
console.log(
  JSON.stringify({
    count: times.length,
    medianMs: round(at(0.5)),
    p90Ms: round(at(0.9)),
    meanMs: round(times.reduce((a, b) => a + b, 0) / times.length),
  }),
);
