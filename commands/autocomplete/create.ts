// @oclif/plugin-autocomplete's hidden `autocomplete create` command, loaded by src/cli/autocomplete.ts.
export { AutocompleteCreateCommand as default } from '../../src/cli/autocomplete.js';
