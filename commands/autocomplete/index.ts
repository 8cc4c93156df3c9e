// @oclif/plugin-autocomplete's `autocomplete` command, loaded by src/cli/autocomplete.ts.
export { Autocomplete as default } from '../../src/cli/autocomplete.js';
