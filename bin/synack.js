#!/usr/bin/env node
// Entry point for `npx synack`. Runs the compiled CLI (npm install builds it via `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist/src/cli/main.js');
if (!existsSync(compiled)) {
  console.error('synack: dist/ is missing; run `npm install` (or `npm run build`) in ' + root);
  process.exit(2);
}
const { main } = await import(pathToFileURL(compiled).href);
process.exitCode = await main(process.argv.slice(2));
