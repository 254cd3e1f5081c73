#!/usr/bin/env node
// `sluice-exec`: the executor alone (what a pod image needs), the same as `sluice exec`.
// Installed from a package it runs the built JavaScript (dist/); in a checkout of the repository
// (src/ present) the TypeScript sources through tsx.
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
// Also accepts `exec` first, so that a pod image can install this command as `sluice` (the compiled
// Workflow runs `sluice exec ...`) without the local runner.
const argv = process.argv.slice(2);
if (argv[0] === 'exec') argv.shift();
process.exit(argv[0] === '--worker' ? await api.workerMain(argv.slice(1)) : await api.execMain(argv));
