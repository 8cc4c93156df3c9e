#!/usr/bin/env node
// Runs every test file under test/ with node's own runner (Node 20 does not glob, so files are listed here),
// after building dist/ (integration tests run the real bin/run.js). Extra arguments narrow the files:
//   npm test -- test/protocol        npm test -- test/interop/kcat.test.ts
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith('.test.ts') || e.name.endsWith('.test.tsx')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const roots = args.length > 0 ? args : ['test'];
const files = roots.flatMap((r) => (statSync(r).isDirectory() ? walk(r) : [r])).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
execFileSync(process.execPath, ['scripts/build.js'], { stdio: 'inherit' });
// Type-check the tests too (tsconfig.test.json): the `@ts-expect-error` lines of test/protocol/message-types.test.ts
// fail this step the day message types stop catching a field a message does not have.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.test.json'], { stdio: 'inherit' });
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-timeout=600000', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
