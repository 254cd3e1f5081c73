// Issue 9 item 4: the cache key covers the code a step depends on outside run() (an imported
// helper, a module constant), through the hash of the pipeline's bundle.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { runPipeline } from '@sluice/runner';
import { explainMiss, cacheParts, cacheKey } from '../../runner/src/engine/cache.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

test('a changed imported helper misses the cache; unchanged code hits it', async () => {
  const dir = mkdtempSync(path.join(here, '.tmp-'));
  const store = mkdtempSync(path.join(tmpdir(), 'sluice-codekey-'));
  dirs.push(dir, store);
  cpSync(path.join(here, 'fixture'), dir, { recursive: true });
  const entry = path.join(dir, 'pipeline.ts');
  const run = () => runPipeline(entry, { entry, mode: 'process', storeDir: store, params: { x: 21 }, concurrency: 1 });

  const first = await run();
  expect(first.status).toBe('succeeded');
  expect(first.tasks.scale?.state).toBe('succeeded');
  expect(first.outputs).toEqual({});

  const again = await run();
  expect(again.tasks.scale?.state).toBe('cached');

  const helper = path.join(dir, 'src/helper.ts');
  writeFileSync(helper, readFileSync(helper, 'utf8').replace('FACTOR = 2', 'FACTOR = 3'));
  const changed = await run();
  expect(changed.tasks.scale?.state).toBe('succeeded');

  // and back to the original code: the first run's entry serves it again
  writeFileSync(helper, readFileSync(helper, 'utf8').replace('FACTOR = 3', 'FACTOR = 2'));
  const back = await run();
  expect(back.tasks.scale?.state).toBe('cached');
  expect(back.tasks.scale?.cachedFrom).toBe(`${first.runId}/scale`);
}, 120_000);

test('the code part is in the key and a miss says the code changed outside run()', () => {
  const comp = { kind: 'function', name: 'scale', codeHash: 'c1', inputs: {}, outputs: {} } as never;
  const a = cacheParts(comp, { x: 1 }, undefined, undefined, 'a'.repeat(64));
  const b = cacheParts(comp, { x: 1 }, undefined, undefined, 'b'.repeat(64));
  expect(cacheKey(a)).not.toBe(cacheKey(b));
  // without a code hash the key is the one of earlier versions (existing caches stay valid)
  expect(cacheParts(comp, { x: 1 }, undefined)).not.toHaveProperty('code');
  expect(explainMiss(b, a)).toEqual([`the pipeline's code changed outside run() (a helper, module constant or dependency it imports; bundle aaaaaaaaaaaa → bbbbbbbbbbbb)`]);
});
