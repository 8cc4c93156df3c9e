/**
 * The commands of @oclif/plugin-autocomplete (`kstream autocomplete [bash|zsh|powershell]` and the
 * `autocomplete script` it tells the user to add to their shell profile), registered in commands/index.ts like
 * our own: kstream uses oclif's explicit command discovery and loads no plugins (the single executable has no
 * node_modules to find them in). The classes come from src/cli/autocomplete-load.ts; here they only learn to
 * report errors like every kstream command (one line, `kstream: ...`, exit 2 for usage).
 */
import type { Command } from '@oclif/core';
import { AutocompleteCreate, AutocompleteIndex, AutocompleteScript } from './autocomplete-load.js';
import { CliError, EXIT_USAGE, reportError } from './base.js';

/** The type of a loaded command class: concrete (it implements run), unlike the abstract `Command`. */
declare class Concrete extends Command {
  run(): Promise<unknown>;
}

/**
 * A subclass (statics such as args, flags, description are inherited) whose errors print like ours, and whose
 * SHELL argument, like ours, never comes from piped stdin (`echo zsh | kstream autocomplete script` printed
 * the zsh script).
 */
function withKstreamErrors(base: Command.Class): Command.Class {
  const Sub = class extends (base as unknown as typeof Concrete) {
    protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
      reportError(err);
    }

    protected override async init(): Promise<void> {
      for (const arg of Object.values(base.args ?? {})) arg.ignoreStdin = true;
      return super.init();
    }
  };
  return Sub as unknown as Command.Class;
}

/** The plugin's base class adds this; it picks the shell from the argument or $SHELL. */
declare class AutocompleteBase extends Concrete {
  determineShell(shell: string): string;
}

const SHELLS = ['bash', 'zsh', 'powershell'];

/**
 * The plugin's bash function offers the first word of every command that matches what is typed, one per
 * command: `kstream to<TAB>` got `topic` nine times (once per `topic:*` command) besides `top`. Offer each
 * word once. Patched on the plugin's class itself: `kstream autocomplete bash` runs that class directly, not
 * the one registered as `autocomplete:create`.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${cur}, not a template
const COMPREPLY = 'COMPREPLY=($(compgen -W "$opts" -- "${cur}"))';
// biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${cur}, not a template
const DEDUPED = 'COMPREPLY=($(compgen -W "$opts" -- "${cur}" | sort -u))';
const original = Object.getOwnPropertyDescriptor(AutocompleteCreate.prototype, 'bashCompletionFunction')?.get;
if (original)
  Object.defineProperty(AutocompleteCreate.prototype, 'bashCompletionFunction', {
    configurable: true,
    get(this: unknown): string {
      return (original.call(this) as string).replace(COMPREPLY, DEDUPED);
    },
  });

/**
 * `kstream autocomplete [SHELL] [--refresh-cache]`: builds the completion cache, prints setup steps. Without
 * SHELL it takes $SHELL; for a shell the plugin has no script for (fish, …) it would print empty steps and
 * exit 0: say so instead, exit 2.
 */
export const Autocomplete = (() => {
  const Base = withKstreamErrors(AutocompleteIndex) as unknown as typeof AutocompleteBase;
  const Index = class extends Base {
    override determineShell(shell: string): string {
      const chosen = super.determineShell(shell);
      if (!SHELLS.includes(chosen))
        throw new CliError(
          `no completion for ${chosen}: kstream autocomplete supports bash, zsh and powershell (e.g. kstream autocomplete bash)`,
          EXIT_USAGE,
        );
      return chosen;
    }
  };
  return Index as unknown as Command.Class;
})();
/** `kstream autocomplete script SHELL` (hidden): the line to add to a shell profile. */
export const AutocompleteScriptCommand = withKstreamErrors(AutocompleteScript);
/** `kstream autocomplete create` (hidden): (re)writes the completion cache only. */
export const AutocompleteCreateCommand = withKstreamErrors(AutocompleteCreate);
