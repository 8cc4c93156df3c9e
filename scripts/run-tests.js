#!/usr/bin/env node
// Runs every test file under test/ with node's own runner (Node 20 does not glob, so files are listed here),
// after building dist/ (integration tests run the real bin/run.js). Extra arguments narrow the files:
//   npm test -- test/protocol        npm test -- test/interop/kcat.test.ts
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-timeout=600000', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
