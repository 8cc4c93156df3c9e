#!/usr/bin/env node
// `npm run build:binary` → dist/kstream: kstream as ONE executable (a Node 20 single-executable application)
// that needs no node, no node_modules and no network. Steps (see ../shared/TOOLCHAIN.md):
//   1. esbuild bundles the CLI (src/sea/main.ts: every command via commands/index.ts) as ESM into
//      dist/sea/bundle/ (code splitting: lazily imported modules such as zstd-codec, and later ink/react/
//      archiver, become chunks loaded only by the commands that need them);
//   2. esbuild bundles the CommonJS SEA entry (src/sea/entry.cts), which extracts those files into a cache dir
//      once and imports the bundle;
//   3. node --experimental-sea-config makes the blob (entry + every bundle file as an asset);
//   4. postject injects the blob into a copy of this node binary.
// Prints each step's time and the binary's size. Options: --out <path> (default dist/kstream).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { inject } from 'postject';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SEA_DIR = join(ROOT, 'dist', 'sea');
const BUNDLE_DIR = join(SEA_DIR, 'bundle');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const MAIN = 'kstream.mjs';

// Packages that read data files next to their own modules at run time (fs + __dirname, e.g. etcd3 loads its
// .proto files when imported): the listed files or dirs (relative to the package root) are shipped as
// node_modules/<pkg>/... inside the extracted dir, and __dirname in that package's modules points at the
// matching dir there. Shipped only when the package is actually in the bundle.
const DATA_FILES = { etcd3: ['proto'] };
// Packages with a prebuilt native module (N-API) that src/ loads with createRequire(import.meta.url) and a
// fallback when it fails: each is shipped whole as node_modules/<pkg> inside the extracted dir, with those of its
// optionalDependencies (one per platform) that npm installed here: the binary is built for this platform.
const NATIVE_PACKAGES = ['@node-rs/crc32'];
// Heavy packages that only the commands needing them may load (`await import()` inside run()): they must not be
// part of what every start-up (even --help) loads. The build warns, test/binary fails.
const LAZY_ONLY = ['ink', 'react', 'react-reconciler', 'yoga-layout', 'archiver', 'zstd-codec'];

const outArg = process.argv.indexOf('--out');
const OUT = resolve(ROOT, outArg > 0 ? process.argv[outArg + 1] : join('dist', 'kstream'));

const t0 = performance.now();
let last = t0;
function step(what) {
  const now = performance.now();
  console.error(`build:binary: ${what} (${((now - last) / 1000).toFixed(1)} s)`);
  last = now;
}

function gitCommit() {
  const git = (args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const head = git(['rev-parse', '--short=12', 'HEAD']).trim();
    try {
      git(['diff', '--quiet', 'HEAD', '--']);
      return head;
    } catch {
      return `${head}-dirty`;
    }
  } catch {
    return 'unknown';
  }
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const commit = process.env.KSTREAM_COMMIT || gitCommit();
// The in-memory package.json oclif reads in the binary (src/sea/main.ts sets commands to the bundle).
const pjson = { name: pkg.name, version: pkg.version, description: pkg.description, type: 'module', oclif: pkg.oclif };

// 1. The CLI bundle.
rmSync(SEA_DIR, { recursive: true, force: true });
mkdirSync(BUNDLE_DIR, { recursive: true });
const BANNER = [
  // @oclif/core 4 is CommonJS and zstd-codec's Emscripten loader uses require/__dirname: give every chunk
  // (all in one dir) real ones.
  "import { createRequire as __ksCreateRequire } from 'node:module';",
  "import { fileURLToPath as __ksFileURLToPath } from 'node:url';",
  "import { dirname as __ksDirname } from 'node:path';",
  'const require = __ksCreateRequire(import.meta.url);',
  'const __filename = __ksFileURLToPath(import.meta.url);',
  'const __dirname = __ksDirname(__filename);',
].join(' ');
/** Where each DATA_FILES package was bundled from (package name → its root dir). */
const dataPackages = new Map();
const dataFilesPlugin = {
  name: 'kstream-data-files',
  setup(b) {
    const names = Object.keys(DATA_FILES).map((n) => n.replace(/[/.]/g, (c) => `\\${c}`));
    const filter = new RegExp(`[/\\\\]node_modules[/\\\\](${names.join('|')})[/\\\\].*\\.[cm]?js$`);
    b.onLoad({ filter }, (args) => {
      // The innermost package holding the module (not one of its own dependencies' modules).
      const m = /^(.*\/node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(args.path.split(sep).join('/'));
      const pkg = m?.[2];
      if (!m || !Object.hasOwn(DATA_FILES, pkg)) return undefined;
      const pkgRoot = m[1];
      dataPackages.set(pkg, pkgRoot);
      const rel = relative(pkgRoot, dirname(args.path)).split(sep).join('/');
      const dir = JSON.stringify(`/node_modules/${pkg}${rel ? `/${rel}` : ''}`);
      const contents = readFileSync(args.path, 'utf8').replace(/\b__dirname\b/g, `(__dirname + ${dir})`);
      return { contents, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};
// src/cli/autocomplete-load.ts imports @oclif/plugin-autocomplete's command classes by a file path found at run
// time (the package exports no subpaths); a bundle cannot follow that, so here the module becomes static imports
// of the same files, which esbuild bundles by path.
const autocompletePlugin = {
  name: 'kstream-autocomplete',
  setup(b) {
    const lib = dirname(createRequire(import.meta.url).resolve('@oclif/plugin-autocomplete'));
    const modules = { AutocompleteIndex: 'index.js', AutocompleteScript: 'script.js', AutocompleteCreate: 'create.js' };
    b.onLoad({ filter: /[/\\]src[/\\]cli[/\\]autocomplete-load\.ts$/ }, () => ({
      contents: Object.entries(modules)
        .map(([name, file]) => {
          const path = join(lib, 'commands', 'autocomplete', file);
          return `export { default as ${name} } from ${JSON.stringify(path)};`;
        })
        .join('\n'),
      loader: 'js',
      resolveDir: lib,
    }));
  },
};
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { kstream: 'src/sea/main.ts' },
  outdir: BUNDLE_DIR,
  bundle: true,
  format: 'esm',
  splitting: true,
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[name]-[hash]',
  banner: { js: BANNER },
  // typescript: only oclif's dev-mode transpiler lookup wants it (disabled in the binary); react-devtools-core:
  // ink imports it only when DEV is set.
  external: ['typescript', 'react-devtools-core'],
  define: {
    __KSTREAM_COMMIT__: JSON.stringify(commit),
    __KSTREAM_PJSON__: JSON.stringify(pjson),
    'process.env.NODE_ENV': '"production"',
  },
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  plugins: [dataFilesPlugin, autocompletePlugin],
});
writeFileSync(join(SEA_DIR, 'meta.json'), JSON.stringify(result.metafile));
// What start-up loads: the entry and the chunks it imports statically (not through import()).
const outputs = result.metafile.outputs;
const startup = new Set();
const visit = (out) => {
  if (startup.has(out)) return;
  startup.add(out);
  for (const i of outputs[out].imports) if (i.kind === 'import-statement' && outputs[i.path]) visit(i.path);
};
visit(relative(ROOT, join(BUNDLE_DIR, MAIN)).split(sep).join('/'));
const packagesOf = (outs) => {
  const pkgs = new Set();
  for (const out of outs) {
    for (const input of Object.keys(outputs[out].inputs)) {
      const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(input);
      if (m) pkgs.add(m[1]);
    }
  }
  return [...pkgs].sort();
};
const startupPackages = packagesOf(startup);
const lazyPackages = packagesOf(Object.keys(outputs).filter((o) => !startup.has(o))).filter(
  (p) => !startupPackages.includes(p),
);
writeFileSync(
  join(SEA_DIR, 'packages.json'),
  JSON.stringify({ startup: startupPackages, lazy: lazyPackages, lazyOnly: LAZY_ONLY }, null, 2),
);
const eager = startupPackages.filter((p) => LAZY_ONLY.includes(p));
if (eager.length > 0) {
  console.error(
    `build:binary: WARNING: ${eager.join(', ')} load at every start-up (also --help): import them with await import() inside the commands that need them`,
  );
}
for (const [pkg, pkgRoot] of dataPackages) {
  for (const entry of DATA_FILES[pkg]) {
    cpSync(join(pkgRoot, entry), join(BUNDLE_DIR, 'node_modules', pkg, entry), { recursive: true });
  }
}
const requireHere = createRequire(import.meta.url);
for (const name of NATIVE_PACKAGES) {
  const pkgRoot = dirname(requireHere.resolve(`${name}/package.json`));
  const optional = Object.keys(
    JSON.parse(readFileSync(join(pkgRoot, 'package.json'), 'utf8')).optionalDependencies ?? {},
  );
  const shipped = [];
  for (const dep of [name, ...optional]) {
    let depRoot;
    try {
      depRoot = dirname(createRequire(join(pkgRoot, 'package.json')).resolve(`${dep}/package.json`));
    } catch {
      continue; // another platform's binary: not installed here
    }
    cpSync(depRoot, join(BUNDLE_DIR, 'node_modules', dep), { recursive: true });
    shipped.push(dep);
  }
  if (shipped.length < 2)
    console.error(`build:binary: WARNING: no native binary of ${name} for this platform is installed`);
}
const files = readdirSync(BUNDLE_DIR, { recursive: true })
  .map((f) => String(f).split(sep).join('/'))
  .filter((f) => statSync(join(BUNDLE_DIR, f)).isFile())
  .sort();
const hash = createHash('sha256');
for (const f of files)
  hash
    .update(f)
    .update('\0')
    .update(readFileSync(join(BUNDLE_DIR, f)));
const manifest = { version: pkg.version, hash: hash.digest('hex').slice(0, 12), main: MAIN, files };
writeFileSync(join(SEA_DIR, 'manifest.json'), JSON.stringify(manifest));
const bundleBytes = files.reduce((n, f) => n + statSync(join(BUNDLE_DIR, f)).size, 0);
step(`bundled ${files.length} files, ${(bundleBytes / 1e6).toFixed(1)} MB, ${pkg.version}-${manifest.hash}`);

// 2. The SEA entry (CommonJS: Node 20 runs a SEA's main script as CJS).
await build({
  absWorkingDir: ROOT,
  entryPoints: ['src/sea/entry.cts'],
  outfile: join(SEA_DIR, 'entry.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});

// 3. The blob.
const assets = { 'manifest.json': join(SEA_DIR, 'manifest.json') };
for (const f of files) assets[`bundle/${f}`] = join(BUNDLE_DIR, f);
const seaConfig = {
  main: join(SEA_DIR, 'entry.cjs'),
  output: join(SEA_DIR, 'sea-prep.blob'),
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  useCodeCache: false,
  assets,
};
writeFileSync(join(SEA_DIR, 'sea-config.json'), JSON.stringify(seaConfig, null, 2));
execFileSync(process.execPath, ['--experimental-sea-config', join(SEA_DIR, 'sea-config.json')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
step('SEA blob');

// 4. A copy of node with the blob injected; renamed into place only when complete.
mkdirSync(dirname(OUT), { recursive: true });
const tmp = `${OUT}.tmp-${process.pid}`;
copyFileSync(process.execPath, tmp);
chmodSync(tmp, 0o755);
try {
  if (process.platform === 'darwin') execFileSync('codesign', ['--remove-signature', tmp]);
  // postject's ELF parser (LIEF) warns about the notes of the node binary it reads: "Can't find string offset
  // for section name '.note'" and ".note.100". Node's own ELF carries notes whose section names LIEF cannot
  // resolve; it only reads them (the blob goes into a new note of its own), and the binary works (test/binary
  // runs every command). They are noise for whoever builds: drop those, keep any other warning.
  const warn = console.warn;
  console.warn = (...args) => {
    if (!/\.note\b|Can't find string offset for section name/.test(args.join(' '))) warn(...args);
  };
  try {
    await inject(tmp, 'NODE_SEA_BLOB', readFileSync(seaConfig.output), {
      sentinelFuse: FUSE,
      machoSegmentName: process.platform === 'darwin' ? 'NODE_SEA' : undefined,
    });
  } finally {
    console.warn = warn;
  }
  if (process.platform === 'darwin') execFileSync('codesign', ['--sign', '-', tmp]);
  renameSync(tmp, OUT);
} catch (e) {
  rmSync(tmp, { force: true });
  throw e;
}
step('injected');
const size = statSync(OUT).size;
console.error(
  `build:binary: ${OUT} (${(size / 1e6).toFixed(1)} MB, node ${process.version}, commit ${commit}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
