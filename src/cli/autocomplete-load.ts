/**
 * Loads @oclif/plugin-autocomplete's command classes (see src/cli/autocomplete.ts for how they are used).
 *
 * The plugin's package exports no subpaths ("exports": "./lib/index.js", an empty object), so its command
 * classes cannot be imported by name. oclif itself loads a plugin's commands by file path from the plugin's
 * root, and so does this module: the root is found with Node's resolution (hoisted or not), the classes are
 * imported by file URL. The single executable's bundle cannot follow a path computed at run time, so
 * scripts/build-binary.js replaces this module with static imports of the same files (`autocompletePlugin`
 * there; keep the two lists in step); test/binary runs the bundled commands.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from '@oclif/core';

const lib = dirname(createRequire(import.meta.url).resolve('@oclif/plugin-autocomplete'));
const load = async (name: string): Promise<Command.Class> =>
  (
    (await import(pathToFileURL(join(lib, 'commands', 'autocomplete', `${name}.js`)).href)) as {
      default: Command.Class;
    }
  ).default;

export const [AutocompleteIndex, AutocompleteScript, AutocompleteCreate] = await Promise.all([
  load('index'),
  load('script'),
  load('create'),
]);
