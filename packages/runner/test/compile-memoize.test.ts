/**
 * `sluice compile` writes memoize keys that cover the pipeline's whole module graph, as `sluice
 * submit` does: a Workflow compiled here and created with `kubectl create` misses Argo's cache when
 * an imported helper changes, and keeps its keys when nothing changed; `sluice run` keys its local
 * cache, and `sluice submit` its memoize keys, with the same code hash. Through the real binary; the
 * project lives inside the package so that zod and @sluice/sdk resolve as in a user's project.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { prepareSubmission } from '@sluice/cluster';
import { compile as compileIR } from '@sluice/compiler';
import type { PipelineIR } from '@sluice/sdk';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.mjs');
const dir = mkdtempSync(join(import.meta.dirname, '.tmp-memo-'));
const store = join(dir, '.sluice');
const cache = join(dir, 'user-cache');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Files written within the last second are not kept in the code-hash cache (they may be mid-write):
// the project's files are dated back, as a user's are by the time they compile.
const dateBack = (f: string) => utimesSync(f, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
writeFileSync(join(dir, 'helper.ts'), 'export const scale = 2;\n');
writeFileSync(join(dir, 'pipeline.ts'), `import { z } from 'zod';
import { component, pipeline } from '@sluice/sdk';
import { scale } from './helper.ts';

const double = component({
  name: 'double', inputs: { n: z.number() }, outputs: { out: z.number() },
  run: ({ n }) => ({ out: n * scale }),
});

export default pipeline({ name: 'memo', params: { n: z.number().default(3) }, image: 'example/pipelines:1' }, ({ n }) => ({ out: double({ n }).outputs.out }));
`);
dateBack(join(dir, 'helper.ts'));
dateBack(join(dir, 'pipeline.ts'));

function compile(out: string, ...flags: string[]): { yaml: string; built: boolean; keys: string[]; components: string[] } {
  const r = spawnSync(process.execPath, [BIN, 'compile', 'pipeline.ts', '-o', out, ...flags], { cwd: dir, encoding: 'utf8', env: { ...process.env, SLUICE_STORE: store, SLUICE_CACHE: cache, SLUICE_DEBUG: '1' }, timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr.replace(/^sluice: \S+: built with esbuild\n/m, '')).toBe('');
  const yaml = readFileSync(join(dir, out), 'utf8');
  return { yaml, built: /built with esbuild/.test(r.stderr), keys: [...yaml.matchAll(/^\s+key: '([0-9a-f]{32})-/gm)].map((m) => m[1]!), components: [...yaml.matchAll(/- --component\n\s+- '?([0-9a-f]{16})'?\n/g)].map((m) => m[1]!) };
}

describe('sluice compile: memoize keys with the module-graph hash', () => {
  let first: ReturnType<typeof compile>;

  it('a second compile of the same code writes the same keys (the hash kept with the built modules: no esbuild); a compile creates no store', () => {
    first = compile('a.yaml');
    expect(first.keys).toHaveLength(1);
    expect(first.built).toBe(true);
    // no store: the hash is kept with the built modules in the user's cache directory
    expect(existsSync(store)).toBe(false);
    const again = compile('b.yaml');
    expect(again.yaml).toBe(first.yaml);
    expect(again.built).toBe(false);
  }, 240_000);

  it('a changed imported helper (run() itself unchanged) changes the memoize keys, not the component', () => {
    writeFileSync(join(dir, 'helper.ts'), 'export const scale = 3;\n');
    const changed = compile('c.yaml');
    expect(first.components).toHaveLength(1);
    expect(changed.components).toEqual(first.components);
    expect(changed.keys).toHaveLength(1);
    expect(changed.keys[0]).not.toBe(first.keys[0]);
    // and back: the keys follow the code, not the history of the cache
    writeFileSync(join(dir, 'helper.ts'), 'export const scale = 2;\n');
    expect(compile('d.yaml').keys).toEqual(first.keys);
  }, 240_000);

  it('--no-code-hash: the keys cover run() only, so a changed helper leaves them as they were (the goldens compile so)', () => {
    const before = compile('e.yaml', '--no-code-hash');
    expect(before.keys).toHaveLength(1);
    expect(before.keys[0]).not.toBe(first.keys[0]);
    writeFileSync(join(dir, 'helper.ts'), 'export const scale = 5;\n');
    expect(compile('f.yaml', '--no-code-hash').keys).toEqual(before.keys);
    writeFileSync(join(dir, 'helper.ts'), 'export const scale = 2;\n');
    dateBack(join(dir, 'helper.ts')); // the next case expects the hash to be kept
  }, 240_000);

  it('sluice run keys its local cache with the code hash in the compile\'s memoize keys, and sluice submit its memoize keys', async () => {
    const r = spawnSync(process.execPath, [BIN, 'run', 'pipeline.ts'], { cwd: dir, encoding: 'utf8', env: { ...process.env, SLUICE_STORE: store, SLUICE_CACHE: cache }, timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const db = new Database(join(store, 'state.db'), { readonly: true });
    const parts = db.prepare('SELECT cache_parts FROM tasks').all() as { cache_parts: string }[];
    db.close();
    const codes = parts.map((p) => (JSON.parse(p.cache_parts) as { code?: string }).code);
    expect(codes).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
    const code = codes[0]!;
    // the compile's keys are the ones its IR compiles to with the run's code hash (and no other)
    const ir = JSON.parse(spawnSync(process.execPath, [BIN, 'compile', 'pipeline.ts', '--format', 'ir'], { cwd: dir, encoding: 'utf8', env: { ...process.env, SLUICE_CACHE: cache }, timeout: 120_000 }).stdout) as PipelineIR;
    const keysOf = (yaml: string) => [...yaml.matchAll(/^\s+key: '([0-9a-f]{32})-/gm)].map((m) => m[1]!);
    expect(keysOf(compileIR(ir, { entry: 'pipeline.ts', codeHash: code }).yaml)).toEqual(first.keys);
    expect(keysOf(compileIR(ir, { entry: 'pipeline.ts', codeHash: 'f'.repeat(64) }).yaml)).not.toEqual(first.keys);
    // submit (its IR from the full bundle it ships) compiles with the same code hash
    process.env.SLUICE_CACHE = cache;
    const sub = await prepareSubmission(join(dir, 'pipeline.ts'), { namespace: 'ns' });
    const submitted = keysOf(JSON.stringify(sub.templates).replace(/"key":"/g, '\n  key: \''));
    expect(submitted).toHaveLength(1);
    expect(submitted).toEqual(keysOf(compileIR(sub.ir, { entry: 'pipeline.ts', codeHash: code }).yaml));
  }, 240_000);
});
