/**
 * The single executable's entry point (Node 20 runs a SEA's main script as CommonJS, with only built-in
 * modules). The CLI itself is an ESM bundle of several files embedded as SEA assets; this script extracts them
 * once into a per-version cache dir and imports the bundle from there.
 *
 * Cache dir: `$XDG_CACHE_HOME/kstream/<version>-<hash>/`, else `$HOME/.cache/kstream/<version>-<hash>/`, else
 * (no HOME, or it is not writable) `<os.tmpdir()>/kstream-<uid>/<version>-<hash>/`. <hash> covers every
 * bundled file, so builds never share a dir. A first run writes into a fresh temp dir next to it and renames
 * it into place: the rename is atomic, so parallel first runs are safe (the loser removes its copy) and a dir
 * that exists is complete. Later runs cost one stat.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { getAsset } from 'node:sea';
import { pathToFileURL } from 'node:url';

/** Written by scripts/build-binary.js as the `manifest.json` asset; each file is the asset `bundle/<file>`. */
interface Manifest {
  version: string;
  hash: string;
  main: string;
  files: string[];
}

/** Written last into a complete extraction. */
const MARKER = '.extracted';

function manifest(): Manifest {
  return JSON.parse(getAsset('manifest.json', 'utf8')) as Manifest;
}

function cacheRoots(): { dir: string; shared: boolean }[] {
  const roots: { dir: string; shared: boolean }[] = [];
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) roots.push({ dir: join(xdg, 'kstream'), shared: false });
  const home = process.env.HOME;
  if (home && isAbsolute(home)) roots.push({ dir: join(home, '.cache', 'kstream'), shared: false });
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  roots.push({ dir: join(tmpdir(), `kstream-${uid ?? homedir().replace(/\W/g, '_')}`), shared: true });
  return roots;
}

function isComplete(dir: string, m: Manifest): boolean {
  try {
    return statSync(join(dir, MARKER)).isFile() && statSync(join(dir, m.main)).isFile();
  } catch {
    return false;
  }
}

/** In a world-writable place (tmpdir), only use a dir this user created and nobody else can write to. */
function checkPrivate(dir: string): void {
  const st = lstatSync(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new Error(`${dir} is not a private directory of this user`);
  }
}

/** Temp dirs of first runs that were killed midway (an hour old: surely no longer being written). */
function removeAbandoned(dir: string): void {
  try {
    for (const name of readdirSync(dir)) {
      if (!/^\..*\.tmp-/.test(name)) continue;
      const path = join(dir, name);
      if (Date.now() - lstatSync(path).mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
    }
  } catch {
    // best effort
  }
}

function extract(root: { dir: string; shared: boolean }, m: Manifest): string {
  const target = join(root.dir, `${m.version}-${m.hash}`);
  if (isComplete(target, m)) return target;
  mkdirSync(root.dir, { recursive: true, mode: 0o700 });
  if (root.shared) checkPrivate(root.dir);
  const tmp = mkdtempSync(join(root.dir, `.${m.version}-${m.hash}.tmp-`));
  try {
    for (const file of m.files) {
      const path = join(tmp, file);
      if (file.includes('/')) mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, new Uint8Array(getAsset(`bundle/${file}`)));
    }
    writeFileSync(join(tmp, MARKER), `${m.version}-${m.hash}\n`);
    for (let attempt = 0; ; attempt++) {
      try {
        renameSync(tmp, target);
        removeAbandoned(root.dir);
        return target;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
        if (isComplete(target, m)) return target; // another process extracted it first
        if (attempt > 0) throw e;
        // An incomplete dir (rename is atomic, so something else removed files from it): move it aside, retry.
        const stale = `${target}.stale-${process.pid}`;
        renameSync(target, stale);
        rmSync(stale, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function fail(message: string): never {
  process.stderr.write(`kstream: ${message}\n`);
  process.exit(1);
}

function main(): void {
  const m = manifest();
  const errors: string[] = [];
  for (const root of cacheRoots()) {
    let dir: string;
    try {
      dir = extract(root, m);
    } catch (e) {
      errors.push(`${root.dir}: ${(e as Error).message}`);
      continue;
    }
    import(pathToFileURL(join(dir, m.main)).href).catch((e: unknown) => {
      fail(`cannot start from ${dir}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    });
    return;
  }
  fail(
    `cannot extract the program files into a cache dir (set XDG_CACHE_HOME to a writable dir):\n  ${errors.join('\n  ')}`,
  );
}

main();
