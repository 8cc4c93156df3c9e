/**
 * commands/index.ts is the one list of commands oclif knows (explicit discovery, also in the single
 * executable): every file under commands/ must be registered there under the id its path gives, and
 * src/version.ts must match package.json.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { COMMANDS } from '../../commands/index.js';
import { VERSION } from '../../src/version.js';

const ROOT = join(import.meta.dirname, '..', '..');
const COMMANDS_DIR = join(ROOT, 'commands');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return walk(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** commands/topic/list.ts → 'topic:list'; commands/topic/index.ts → 'topic' (oclif's own convention). */
function idOf(file: string): string {
  const parts = relative(COMMANDS_DIR, file)
    .replace(/\.tsx?$/, '')
    .split(sep);
  if (parts.length > 1 && parts[parts.length - 1] === 'index') parts.pop();
  return parts.join(':');
}

const files = walk(COMMANDS_DIR).filter((f) => f !== join(COMMANDS_DIR, 'index.ts'));

test('commands/ holds at least one command', () => {
  assert.ok(files.length > 0);
});

for (const file of files) {
  const id = idOf(file);
  test(`commands/${relative(COMMANDS_DIR, file)} is registered in commands/index.ts as '${id}'`, async () => {
    const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    assert.equal(
      typeof (mod.default as { run?: unknown } | undefined)?.run,
      'function',
      `commands/${relative(COMMANDS_DIR, file)} must default-export a command class (shared code belongs in src/)`,
    );
    assert.ok(
      Object.hasOwn(COMMANDS, id),
      `add "'${id}': <Class>," to COMMANDS in commands/index.ts (ids use ':'; users type "${id.replaceAll(':', ' ')}")`,
    );
    assert.equal(COMMANDS[id], mod.default, `COMMANDS['${id}'] must be the default export of that file`);
  });
}

test('every id in COMMANDS has its file under commands/', () => {
  const ids = new Set(files.map(idOf));
  for (const id of Object.keys(COMMANDS))
    assert.ok(ids.has(id), `COMMANDS['${id}'] has no commands/${id.replaceAll(':', '/')}.ts`);
});

test('package.json points oclif at COMMANDS (explicit discovery)', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    oclif: { commands: unknown; topicSeparator: string };
  };
  assert.deepEqual(pkg.oclif.commands, {
    strategy: 'explicit',
    target: './dist/commands/index.js',
    identifier: 'COMMANDS',
  });
  assert.equal(pkg.oclif.topicSeparator, ' ');
});

test('src/version.ts matches package.json', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(VERSION, pkg.version, 'update VERSION in src/version.ts to the version in package.json');
});

test('bin/run.js lists every command in --help and prints version, node and commit for --version', () => {
  const run = (args: string[]): string =>
    execFileSync(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  const help = run(['--help']);
  // A nested id ('topic:list') shows in the root help as its topic ('topic').
  for (const id of Object.keys(COMMANDS)) {
    const shown = id.split(':')[0];
    assert.match(help, new RegExp(`^  ${shown}\\b`, 'm'), `--help lists ${shown}`);
  }
  assert.match(
    run(['--version']),
    new RegExp(
      `^kstream ${VERSION.replaceAll('.', '\\.')} \\(commit ([0-9a-f]{7,}(-dirty)?|dev), node ${process.version}, `,
    ),
  );
});
