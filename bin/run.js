#!/usr/bin/env node
// npm / development entry: the compiled CLI in dist/ (`npm run build`). The single executable (dist/kstream,
// `npm run build:binary`) runs the same src/cli/main.ts from a bundle instead.
import { runCli } from '../dist/src/cli/main.js';

await runCli({ dir: import.meta.url });
