#!/usr/bin/env node
// `sluice-exec`: the executor alone (what a pod image needs), the same as `sluice exec`.
import { register } from 'tsx/esm/api';

register();
const { execMain, workerMain } = await import('../src/index.ts');
const argv = process.argv.slice(2);
process.exit(argv[0] === '--worker' ? await workerMain(argv.slice(1)) : await execMain(argv));
