/**
 * The loader imports a CommonJS package through a small module that requires it (`cjsShim` in
 * graph-load.ts: Node's export lexer runs once per build instead of in every process). What a
 * pipeline's import of it gets must be what plain Node's import gets: the same module instance,
 * `module.exports` as the default (also with `__esModule` set), the names Node's lexer finds
 * (re-exports followed), in the same evaluation order among the other imports. Checked against a
 * reference module with the same imports, imported by plain node, each in a fresh process.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(import.meta.dirname, '.tmp-cjsdep-'));
const cache = mkdtempSync(join(tmpdir(), 'sluice-cjsdep-cache-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(cache, { recursive: true, force: true });
});

function put(rel: string, text: string): void {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), text);
}
put('package.json', JSON.stringify({ name: 'cjsdep', private: true, type: 'module' }));
put('node_modules/esm-a/package.json', JSON.stringify({ name: 'esm-a', version: '1.0.0', type: 'module', main: 'index.js' }));
put('node_modules/esm-a/index.js', "(globalThis.order ??= []).push('esm-a');\nexport const a = 1;\n");
put('node_modules/esm-c/package.json', JSON.stringify({ name: 'esm-c', version: '1.0.0', type: 'module', main: 'index.js' }));
put('node_modules/esm-c/index.js', "(globalThis.order ??= []).push('esm-c');\nexport const c = 3;\n");
// transpiled CommonJS: __esModule set and a `default` property (Node's import still gives module.exports as the default)
put('node_modules/cjs-lib/package.json', JSON.stringify({ name: 'cjs-lib', version: '1.0.0', main: 'index.js' }));
put('node_modules/cjs-lib/index.js', "'use strict';\nObject.defineProperty(exports, '__esModule', { value: true });\n(globalThis.order ??= []).push('cjs-lib');\nexports.answer = 42;\nexports.default = 'the default property';\nexports.counter = { n: 0 };\n");
// a re-export, which Node's lexer follows
put('node_modules/cjs-re/package.json', JSON.stringify({ name: 'cjs-re', version: '2.0.0', main: 'index.cjs' }));
put('node_modules/cjs-re/index.cjs', "module.exports = require('./impl.js');\n");
put('node_modules/cjs-re/impl.js', "exports.fromImpl = 'impl';\nexports.other = 7;\n");
const imports = `import 'esm-a';
import lib, { answer, counter } from 'cjs-lib';
import * as ns from 'cjs-lib';
import 'esm-c';
import re, { fromImpl } from 'cjs-re';
`;
const body = `export const seen = { lib, answer, fromImpl, re, nsKeys: Object.keys(ns).sort(), nsDefault: ns.default === lib, order: [...globalThis.order] };
counter.n += 1;
export const counterOf = () => counter;
`;
put('probe.ts', `${imports}${body}`);
put('reference.mjs', `${imports}${body}`);

/** Runs `script` (an ES module, tsx registered as the checkout's CLI registers it) in a fresh process in the project; its stdout as JSON. */
function inChild(script: string): unknown {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8', env: { ...process.env, SLUICE_CACHE: cache, NODE_OPTIONS: '' }, timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const report = `const native = await import('cjs-lib'); process.stdout.write(JSON.stringify({ ...m.seen, sameInstance: native.default === m.seen.lib, counter: m.counterOf().n }));`;

describe('a CommonJS package imported by a built module', () => {
  it('gets what plain node gets: module.exports as the default, the lexer\'s names (re-exports followed), the same instance, the same order', () => {
    const loader = join(import.meta.dirname, '..', 'src', 'graph-load.ts');
    const built = inChild(`const { importThroughBundle } = await import(${JSON.stringify(loader)}); const m = await importThroughBundle('probe.ts'); if (!m) throw new Error('not built'); ${report}`);
    const plain = inChild(`const m = await import('./reference.mjs'); ${report}`);
    expect(built).toEqual(plain);
    expect(plain).toEqual({
      lib: { answer: 42, default: 'the default property', counter: { n: 1 } },
      answer: 42,
      fromImpl: 'impl',
      re: { fromImpl: 'impl', other: 7 },
      nsKeys: ['__esModule', 'answer', 'counter', 'default'],
      nsDefault: true,
      order: ['esm-a', 'cjs-lib', 'esm-c'],
      sameInstance: true,
      counter: 1,
    });
    // and it went through the shims: the built module imports no CommonJS package by name
    const find = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() && e.name !== 'node_modules' ? find(join(d, e.name)) : e.name === 'probe.mjs' ? [join(d, e.name)] : []));
    const [probe] = find(join(cache, 'load'));
    const text = readFileSync(probe!, 'utf8');
    expect(text).toMatch(/from "esm-a"|"esm-a";/);
    expect(text).not.toMatch(/"cjs-lib"|"cjs-re"/);
    expect(text.match(/\.sluice-cjs-[0-9a-f]{16}\.mjs/g)?.length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('a named import Node does not find is an error, as with Node', () => {
    put('missing.ts', "import { nothere } from 'cjs-lib';\nexport const x = nothere;\n");
    const loader = join(import.meta.dirname, '..', 'src', 'graph-load.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `const { importThroughBundle } = await import(${JSON.stringify(loader)}); await importThroughBundle('missing.ts');`], { cwd: dir, encoding: 'utf8', env: { ...process.env, SLUICE_CACHE: cache, NODE_OPTIONS: '' }, timeout: 60_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/does not provide an export named 'nothere'/);
  }, 60_000);
});
