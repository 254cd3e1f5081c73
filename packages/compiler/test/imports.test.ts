/**
 * What importing the compiler costs: `@sluice/compiler` must not load ts-morph (or the
 * TypeScript it carries); only the `@sluice/compiler/source` entry does. Checked in a fresh
 * process, through the package names a user imports, by listing the CommonJS modules loaded.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/argo.ts';

/** Loaded CommonJS modules whose path names ts-morph or typescript, after importing `spec`. */
function heavyModulesAfter(spec: string): string[] {
  const script = [
    `await import(${JSON.stringify(spec)});`,
    "const { createRequire } = await import('node:module');",
    'const cache = createRequire(import.meta.url).cache;',
    "console.log(JSON.stringify(Object.keys(cache).filter((k) => /[\\\\/](ts-morph|typescript)[\\\\/]/.test(k))));",
  ].join('\n');
  // The runner depends on @sluice/compiler, so the package name resolves from its folder.
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.join(repoRoot, 'packages/runner'), encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as string[];
}

describe('import graph', () => {
  it('@sluice/compiler does not load ts-morph', () => {
    expect(heavyModulesAfter('@sluice/compiler')).toEqual([]);
  });
  it('@sluice/compiler/source does not either: its scanner reads the source, ts-morph loads only for JSX', () => {
    expect(heavyModulesAfter('@sluice/compiler/source')).toEqual([]);
  });
});
