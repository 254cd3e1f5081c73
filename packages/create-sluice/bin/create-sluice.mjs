#!/usr/bin/env node
// `npm create sluice [dir]`: writes a new Sluice project. Installed it runs dist/; in a checkout of
// the repository (src/ present) the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const source = new URL('../src/index.ts', import.meta.url);
let api;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  api = await import(source.href);
} else {
  api = await import('../dist/index.js');
}
process.exitCode = api.createMain(process.argv.slice(2), 'npm create sluice');
