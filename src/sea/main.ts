/**
 * The single executable's bundle entry (esbuild → kstream.mjs, see scripts/build-binary.js). The SEA entry
 * (entry.cts) extracts the bundle into a cache dir and imports this module, which starts the CLI.
 *
 * oclif gets an in-memory package.json (there is none on disk) whose explicit command discovery points at this
 * very file: oclif imports it again and reads COMMANDS. That second import resolves only once this module has
 * finished evaluating, so the start-up call below must NOT be awaited at top level (a module awaiting its own
 * import never settles: Node exits with code 13, "unsettled top-level await").
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Interfaces, settings } from '@oclif/core';
import { runCli } from '../cli/main.js';

export { COMMANDS } from '../../commands/index.js';

// package.json's name, version, description and oclif section, inlined by the build (esbuild `define`).
declare const __KSTREAM_PJSON__: Interfaces.PJSON;

// Never look for TypeScript sources or register a transpiler (typescript is not in the bundle), even when the
// user's environment has NODE_ENV=development.
settings.enableAutoTranspile = false;

const here = fileURLToPath(import.meta.url);
const pjson: Interfaces.PJSON = {
  ...__KSTREAM_PJSON__,
  oclif: {
    ...__KSTREAM_PJSON__.oclif,
    commands: { strategy: 'explicit', target: `./${here.slice(dirname(here).length + 1)}`, identifier: 'COMMANDS' },
  },
};

void runCli({ loadOptions: { root: dirname(here), pjson, userPlugins: false, devPlugins: false } });
