#!/usr/bin/env node
// The `sluice` command. Installed from a package it runs the built JavaScript (dist/), so no
// TypeScript loader is involved until a pipeline file is imported (with tsx). In a checkout of the
// repository (src/ is present, dist/ is not shipped there) it runs the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const source = new URL('../src/bin.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/bin.js');
}
