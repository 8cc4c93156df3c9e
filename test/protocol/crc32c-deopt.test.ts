/**
 * crc32c's table code (crc32cTable: short inputs, and every input where the CPU instruction is not available)
 * under V8's optimizer (issue 17): a fresh process whose first calls are over batches of ~112 KB (a transactional
 * producer's batches of 1,000 records of 100 B) must not deoptimize it on every later call.
 * Before the fix V8 compiled the word loop on-stack (OSR) before the byte loop after it had ever run, and that
 * code was thrown away at the byte loop on each call ("insufficient type feedback"): every call of the 300 below.
 * Counted from `node --trace-deopt` of a child process (V8's own report; no timing involved).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { crc32cTable } from '../../src/protocol/records/crc32c.js';

test('crc32cTable is not deoptimized call after call on batch-sized buffers in a fresh process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kstream-crc32c-'));
  try {
    const mod = pathToFileURL(join(import.meta.dirname, '../../src/protocol/records/crc32c.js')).href;
    const script = join(dir, 'crc.mts');
    writeFileSync(
      script,
      `import { crc32cTable } from ${JSON.stringify(mod)};
const b = Buffer.alloc(120_000, 7);
let x = 0;
// Unaligned starts and lengths that are not multiples of 16, as batches are: both byte loops run.
for (let i = 0; i < 300; i++) x ^= crc32cTable(b, 61, 112_000 + (i % 13));
console.log(JSON.stringify({ crc: x }));
`,
    );
    const out = execFileSync(process.execPath, ['--trace-deopt', '--import', 'tsx', script], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const deopts = out.split('\n').filter((l) => /deoptimizing .*<JSFunction crc32cTable /.test(l));
    assert.ok(
      deopts.length <= 1,
      `crc32cTable deoptimized ${deopts.length} times in 300 calls:\n${deopts.slice(0, 3).join('\n')}`,
    );
    // The values are the same as this process computes (the priming changed no result).
    let x = 0;
    const b = Buffer.alloc(120_000, 7);
    for (let i = 0; i < 300; i++) x ^= crc32cTable(b, 61, 112_000 + (i % 13));
    const last = out.trim().split('\n').at(-1) ?? '';
    assert.deepEqual(JSON.parse(last), { crc: x });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
