/**
 * What `kstream --version` prints: kstream's version, the Node.js running it and the git commit it was built
 * from. The single executable has the commit embedded at build time (esbuild `define`); in development it is
 * read from git next to this file, or "dev" when that fails (no git, not a checkout).
 */
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../version.js';

// Replaced by a string literal in the single executable's bundle (scripts/build-binary.js); undeclared otherwise.
declare const __KSTREAM_COMMIT__: string | undefined;

let devCommit: string | undefined;

/** The git commit kstream was built from (short hash, "-dirty" when tracked files had changes), or "dev". */
export function buildCommit(): string {
  if (typeof __KSTREAM_COMMIT__ === 'string') return __KSTREAM_COMMIT__;
  devCommit ??= gitCommit(dirname(fileURLToPath(import.meta.url))) ?? 'dev';
  return devCommit;
}

/** `git describe`-like: short HEAD plus "-dirty" when tracked files differ from it; undefined without git. */
export function gitCommit(cwd: string): string | undefined {
  const git = (args: string[]): string =>
    execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  try {
    const head = git(['rev-parse', '--short=12', 'HEAD']);
    let dirty = false;
    try {
      git(['diff', '--quiet', 'HEAD', '--']);
    } catch {
      dirty = true;
    }
    return dirty ? `${head}-dirty` : head;
  } catch {
    return undefined;
  }
}

/** One line: `kstream 0.1.0 (commit 1a2b3c4d5e6f, node v20.20.2, linux-x64)`. */
export function versionLine(): string {
  return `kstream ${VERSION} (commit ${buildCommit()}, node ${process.version}, ${process.platform}-${process.arch})`;
}
