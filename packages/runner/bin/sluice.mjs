#!/usr/bin/env node
// The `sluice` command: registers tsx so TypeScript sources (ours and the user's pipeline) load directly.
import { register } from 'tsx/esm/api';

register();
await import('../src/bin.ts');
