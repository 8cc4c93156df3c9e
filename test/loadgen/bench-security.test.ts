/**
 * bench/security.sh (issue 18's benchmark tooling) runs end to end with tiny numbers: one broker with PLAINTEXT,
 * SSL and SASL_SSL listeners and openssl certificates, bench produce over each, SCRAM logins timed; it prints
 * both tables and leaves nothing behind (its temp dir under $TMPDIR, its broker). No assertion on the numbers:
 * the lead runs it on a quiet machine for docs/benchmarks.md.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT, removeDir, tempDir } from '../helpers/broker.js';

const tmp = tempDir('kstream-bench-security-');
after(() => removeDir(tmp));

test('bench/security.sh: produce ratios and login costs side by side, nothing left behind', async () => {
  const child = spawn('bash', [join(ROOT, 'bench', 'security.sh'), '3000', '3'], {
    cwd: ROOT,
    env: { ...process.env, ROUNDS: '1', TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), 240_000);
  const code = await new Promise<number | null>((res) => child.once('exit', res));
  clearTimeout(timer);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^\| SSL \| \d+(\.\d+)? \| >= 0\.60 \|$/m);
  assert.match(stdout, /^\| SASL_SSL SCRAM-SHA-512 \| \d+(\.\d+)? \| >= 0\.60 \|$/m);
  assert.match(stdout, /^\| SSL, no login \| [\d.]+ \| [\d.]+ \| \| \|$/m);
  for (const m of ['SCRAM-SHA-256', 'SCRAM-SHA-512'])
    assert.match(
      stdout,
      new RegExp(`^\\| SASL_SSL ${m} \\| [\\d.]+ \\| [\\d.]+ \\| -?[\\d.]+ ms \\| <= 10 ms \\|$`, 'm'),
    );
  // Its temp dir (certificates, password, data) is gone, and with it its broker's data.
  // (tsx keeps its cache there too: only the script's own dir counts.)
  assert.deepEqual(
    readdirSync(tmp).filter((f) => f.startsWith('kstream-security.')),
    [],
  );
});
