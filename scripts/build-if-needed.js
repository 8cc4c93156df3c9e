#!/usr/bin/env node
// `npm start` runs this first: compile TypeScript when dist/ is missing or older than any source file.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const stamp = 'dist/.build-stamp';
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const src = Math.max(
  newest('src'),
  newest('commands'),
  statSync('tsconfig.json').mtimeMs,
  statSync('package.json').mtimeMs,
);
if (src > built) {
  execFileSync(process.execPath, ['scripts/build.js'], { stdio: 'inherit' });
}
