/**
 * Throughput of the record-batch codecs on 16 MiB of semi-compressible data (JSON-like lines: repeated field
 * names, a small vocabulary, random numbers and random base64 ids).
 *
 *   node --import tsx bench/records-codecs.ts [MiB]
 */
import { Compression } from '../src/protocol/records/batch.js';
import { compress, compressionName, decompress } from '../src/protocol/records/compression.js';
import { zstdReady } from '../src/protocol/records/zstd.js';

function sample(bytes: number): Buffer {
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
  let x = 12345;
  const rnd = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x;
  };
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const id = Buffer.alloc(12);
    for (let i = 0; i < 12; i++) id[i] = rnd() >>> 24;
    const line = `{"id":"${id.toString('base64')}","user":"${words[rnd() % 10]}-${rnd() % 1000}","amount":${rnd() % 100000},"tags":["${words[rnd() % 10]}","${words[rnd() % 10]}"],"ok":${rnd() % 2 === 0}}\n`;
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

const mib = Number(process.argv[2] ?? 16);
const data = sample(mib << 20);
await zstdReady();
console.log(`${mib} MiB semi-compressible input, node ${process.version}`);
console.log('codec   ratio  compress MB/s  decompress MB/s');
for (const codec of [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
  await decompress(codec, await compress(codec, data.subarray(0, 1 << 20))); // warm up
  let packed: Buffer = Buffer.alloc(0);
  let t = performance.now();
  const runs = 3;
  for (let i = 0; i < runs; i++) packed = await compress(codec, data);
  const c = (runs * data.length) / 1e6 / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < runs; i++) await decompress(codec, packed);
  const d = (runs * data.length) / 1e6 / ((performance.now() - t) / 1000);
  const name = compressionName(codec).padEnd(7);
  console.log(
    `${name} ${(data.length / packed.length).toFixed(2).padStart(5)}  ${c.toFixed(0).padStart(13)}  ${d.toFixed(0).padStart(15)}`,
  );
}
