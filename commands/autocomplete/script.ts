// @oclif/plugin-autocomplete's hidden `autocomplete script` command, loaded by src/cli/autocomplete.ts.
export { AutocompleteScriptCommand as default } from '../../src/cli/autocomplete.js';
