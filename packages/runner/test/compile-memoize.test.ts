/**
 * `sluice compile` writes memoize keys that cover the pipeline's whole module graph, as `sluice
 * submit` does: a Workflow compiled here and created with `kubectl create` misses Argo's cache when
 * an imported helper changes, and keeps its keys when nothing changed. Through the real binary; the
 * project lives inside the package so that zod and @sluice/sdk resolve as in a user's project.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

function compile(out: string, ...flags: string[]): { yaml: string; keys: string[]; components: string[] } {
  const r = spawnSync(process.execPath, [BIN, 'compile', 'pipeline.ts', '-o', out, ...flags], { cwd: dir, encoding: 'utf8', env: { ...process.env, SLUICE_STORE: store, SLUICE_CACHE: cache }, timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  const yaml = readFileSync(join(dir, out), 'utf8');
  return { yaml, keys: [...yaml.matchAll(/^\s+key: '([0-9a-f]{32})-/gm)].map((m) => m[1]!), components: [...yaml.matchAll(/- --component\n\s+- '?([0-9a-f]{16})'?\n/g)].map((m) => m[1]!) };
}

describe('sluice compile: memoize keys with the module-graph hash', () => {
  let first: ReturnType<typeof compile>;

  it('a second compile of the same code writes the same keys (served from the code-hash cache); a compile creates no store', () => {
    first = compile('a.yaml');
    expect(first.keys).toHaveLength(1);
    // no store: the hash is kept in the user's cache directory
    expect(existsSync(store)).toBe(false);
    expect(existsSync(join(cache, 'code-hashes.json'))).toBe(true);
    const again = compile('b.yaml');
    expect(again.yaml).toBe(first.yaml);
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

  it('with a store, a compile shares its code-hash cache (a run of the same code needs no esbuild for the hash)', () => {
    mkdirSync(store, { mode: 0o700 });
    expect(compile('g.yaml').keys).toEqual(first.keys);
    expect(existsSync(join(store, 'code-hashes.json'))).toBe(true);
  }, 240_000);
});
