// The code-hash cache: an unchanged module graph is served without esbuild; a changed file misses,
// also when its size stayed the same or its mtime was put back.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { pipelineCodeHash } from '../src/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function project(): { entry: string; helper: string; cacheFile: string } {
  const dir = mkdtempSync(path.join(here, '.tmp-'));
  const store = mkdtempSync(path.join(tmpdir(), 'sluice-codehash-'));
  dirs.push(dir, store);
  cpSync(path.join(here, 'fixture'), dir, { recursive: true });
  return { entry: path.join(dir, 'pipeline.ts'), helper: path.join(dir, 'src/helper.ts'), cacheFile: path.join(store, 'code-hashes.json') };
}

/** The hash, and whether it came from the cache; a fresh one is recorded. */
async function hash(entry: string, cacheFile: string): Promise<{ hash: string; cached: boolean }> {
  const r = await pipelineCodeHash(entry, undefined, { cacheFile });
  if ('error' in r) throw new Error(r.error);
  r.save?.();
  return { hash: r.hash, cached: r.cached };
}

/** Gives `to` the exact (nanosecond) atime and mtime of `from`, as `touch -r` does. */
function putBackTimes(from: string, to: string): void {
  const r = spawnSync('touch', ['-r', from, to]);
  if (r.status !== 0) throw new Error(`touch -r failed: ${r.stderr}`);
}

/** Waits until a file written now is older than the cache's one-second safety margin. */
const settle = () => new Promise((r) => setTimeout(r, 1100));

describe('code-hash cache', () => {
  it('an unchanged graph is served from the cache (no esbuild); without a cache file nothing is kept', async () => {
    const p = project();
    await settle();
    const first = await hash(p.entry, p.cacheFile);
    expect(first.cached).toBe(false);
    const again = await hash(p.entry, p.cacheFile);
    expect(again).toEqual({ hash: first.hash, cached: true });
    const uncached = await pipelineCodeHash(p.entry);
    expect(uncached).toMatchObject({ hash: first.hash, cached: false });
    expect('save' in uncached && uncached.save).toBeFalsy();
  }, 60_000);

  it('a helper edited to the same size, its mtime put back, still misses (ctime); a different size with the mtime put back too', async () => {
    const p = project();
    await settle();
    const first = await hash(p.entry, p.cacheFile);
    expect((await hash(p.entry, p.cacheFile)).cached).toBe(true);
    const before = statSync(p.helper, { bigint: true });
    const text = readFileSync(p.helper, 'utf8');
    expect(text).toContain('FACTOR = 2');
    const ref = `${p.helper}.ref`;
    copyFileSync(p.helper, ref);
    putBackTimes(p.helper, ref);
    writeFileSync(p.helper, text.replace('FACTOR = 2', 'FACTOR = 3'));
    putBackTimes(ref, p.helper);
    expect(statSync(p.helper, { bigint: true }).size).toBe(before.size);
    expect(statSync(p.helper, { bigint: true }).mtimeNs).toBe(before.mtimeNs);
    await settle();
    const same = await hash(p.entry, p.cacheFile);
    expect(same.cached).toBe(false);
    expect(same.hash).not.toBe(first.hash);
    // a longer edit, mtime put back
    putBackTimes(p.helper, ref);
    writeFileSync(p.helper, readFileSync(p.helper, 'utf8').replace('FACTOR = 3', 'FACTOR = 30'));
    putBackTimes(ref, p.helper);
    expect(statSync(p.helper, { bigint: true }).mtimeNs).toBe(before.mtimeNs);
    await settle();
    const longer = await hash(p.entry, p.cacheFile);
    expect(longer.cached).toBe(false);
    expect(longer.hash).not.toBe(same.hash);
    // and back to the first text: the content decides, whatever the stamps
    writeFileSync(p.helper, text);
    await settle();
    expect((await hash(p.entry, p.cacheFile)).hash).toBe(first.hash);
  }, 120_000);

  it('a file written in the last second is not recorded (it may have changed while esbuild read it)', async () => {
    const p = project();
    writeFileSync(p.helper, readFileSync(p.helper, 'utf8'));
    const r = await pipelineCodeHash(p.entry, undefined, { cacheFile: p.cacheFile });
    expect('save' in r && r.save).toBeFalsy();
  }, 60_000);
});
