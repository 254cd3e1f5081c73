// The code hash (`pipelineCodeHash`, the code part of local cache keys and Argo memoize keys): what
// it covers (the project's files, each imported package's name and version, the lockfile; not the
// inside of an installed package), that it is kept with the loader's built modules (a fresh process
// answers it without esbuild, an edited file misses, also when its size stayed the same and its
// mtime was put back), and the full-bundle hash where the loader cannot load the graph.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { bundlePipeline, pipelineCodeHash } from '../src/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, '..', '..', '..');
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

// the loader keeps its built modules (and the hash) in the user cache directory: one per test
let cache: string;
beforeEach(() => {
  cache = mkdtempSync(path.join(tmpdir(), 'sluice-codehash-cache-'));
  dirs.push(cache);
  process.env.SLUICE_CACHE = cache;
});

/** Dates a file back a minute: a file written in the last second is never recorded (it may be mid-write). */
function dateBack(file: string): void {
  const past = new Date(Date.now() - 60_000);
  utimesSync(file, past, past);
}

/** Writes `text` to `file` (folders made), dated back. */
function put(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  dateBack(file);
}

/**
 * A copy of the fixture (a step whose result depends on an imported helper) inside this package, so
 * that zod and @sluice/sdk resolve as in a user's project; it imports a package of its own
 * (`node_modules/fake-lib`), and with `ownRoot` it is a project root (`.git`) of its own.
 */
function project(o: { ownRoot?: boolean } = {}): { dir: string; entry: string; helper: string; lib: string } {
  const dir = mkdtempSync(path.join(here, '.tmp-'));
  dirs.push(dir);
  cpSync(path.join(here, 'fixture'), dir, { recursive: true });
  if (o.ownRoot) mkdirSync(path.join(dir, '.git'));
  put(path.join(dir, 'node_modules/fake-lib/package.json'), JSON.stringify({ name: 'fake-lib', version: '1.0.0', type: 'module', main: 'index.js' }));
  put(path.join(dir, 'node_modules/fake-lib/index.js'), 'export const bias = 0;\n');
  const entry = path.join(dir, 'pipeline.ts');
  put(entry, readFileSync(entry, 'utf8').replace("import { scale } from './src/helper.ts';", "import { scale } from './src/helper.ts';\nimport { bias } from 'fake-lib';").replace('scale(x) + OFFSET', 'scale(x) + OFFSET + bias'));
  const helper = path.join(dir, 'src/helper.ts');
  dateBack(helper);
  return { dir, entry, helper, lib: path.join(dir, 'node_modules/fake-lib') };
}

async function hash(entry: string): Promise<{ hash: string; cached: boolean }> {
  const r = await pipelineCodeHash(entry);
  if ('error' in r) throw new Error(r.error);
  return { hash: r.hash, cached: r.cached };
}

/** The hash as a fresh process computes it (nothing of this process's loads shared), from `cwd`. */
function hashInChild(entry: string, cwd = repo): { hash: string; cached: boolean } {
  const script = `const { pipelineCodeHash } = await import(${JSON.stringify(path.join(here, '..', 'src', 'index.ts'))}); const r = await pipelineCodeHash(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(r));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd, encoding: 'utf8', env: { ...process.env, SLUICE_CACHE: cache, NODE_OPTIONS: '' }, timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const got = JSON.parse(r.stdout) as { hash?: string; cached?: boolean; error?: string };
  if (!got.hash) throw new Error(got.error ?? r.stdout);
  return { hash: got.hash, cached: !!got.cached };
}

/** Gives `to` the exact (nanosecond) atime and mtime of `from`, as `touch -r` does. */
function putBackTimes(from: string, to: string): void {
  const r = spawnSync('touch', ['-r', from, to]);
  if (r.status !== 0) throw new Error(`touch -r failed: ${r.stderr}`);
}

describe('the code hash: what it covers', () => {
  it('a project file changes it; back to the first text gives the first hash', async () => {
    const p = project();
    const first = await hash(p.entry);
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await hash(p.entry)).hash).toBe(first.hash);
    const text = readFileSync(p.helper, 'utf8');
    put(p.helper, text.replace('FACTOR = 2', 'FACTOR = 3'));
    const edited = await hash(p.entry);
    expect(edited.hash).not.toBe(first.hash);
    put(p.helper, text);
    expect((await hash(p.entry)).hash).toBe(first.hash);
  }, 60_000);

  it("an imported package's version changes it; a change inside the package with the same version does not (see the README)", async () => {
    const p = project();
    const first = await hash(p.entry);
    const manifest = path.join(p.lib, 'package.json');
    put(manifest, readFileSync(manifest, 'utf8').replace('"1.0.0"', '"1.0.1"'));
    const bumped = await hash(p.entry);
    expect(bumped.hash).not.toBe(first.hash);
    put(path.join(p.lib, 'index.js'), 'export const bias = 1;\n');
    expect((await hash(p.entry)).hash).toBe(bumped.hash);
  }, 60_000);

  it('the lockfile nearest the pipeline changes it: one added beside it, then its content', async () => {
    const p = project();
    const first = await hash(p.entry);
    const lock = path.join(p.dir, 'package-lock.json');
    put(lock, JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/fake-lib': { version: '1.0.0' } } }));
    const added = await hash(p.entry);
    expect(added.hash).not.toBe(first.hash);
    put(lock, JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/fake-lib': { version: '1.0.0' }, 'node_modules/dep-of-lib': { version: '2.0.0' } } }));
    const changed = await hash(p.entry);
    expect(changed.hash).not.toBe(added.hash);
    expect(changed.hash).not.toBe(first.hash);
  }, 60_000);

  it('the same wherever the project is and from whichever folder the command runs; the export name is part of it', async () => {
    const a = project({ ownRoot: true });
    const b = project({ ownRoot: true });
    const ha = await hash(a.entry);
    expect((await hash(b.entry)).hash).toBe(ha.hash);
    expect(hashInChild(a.entry, a.dir).hash).toBe(ha.hash);
    const named = await pipelineCodeHash(a.entry, 'checkpointed');
    expect('hash' in named && named.hash).not.toBe(ha.hash);
  }, 60_000);
});

describe('the code hash: kept with the built modules', () => {
  it('a fresh process answers it without esbuild', async () => {
    const p = project();
    const first = await hash(p.entry);
    expect(first.cached).toBe(false);
    expect(await hash(p.entry)).toEqual({ hash: first.hash, cached: true });
    expect(hashInChild(p.entry)).toEqual({ hash: first.hash, cached: true });
  }, 60_000);

  it('a helper edited to the same size, its mtime put back, still misses (ctime); a different size with the mtime put back too', async () => {
    const p = project();
    const first = await hash(p.entry);
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
    const same = hashInChild(p.entry);
    expect(same.cached).toBe(false);
    expect(same.hash).not.toBe(first.hash);
    expect((await hash(p.entry)).hash).toBe(same.hash);
    // a longer edit, mtime put back
    writeFileSync(p.helper, readFileSync(p.helper, 'utf8').replace('FACTOR = 3', 'FACTOR = 30'));
    putBackTimes(ref, p.helper);
    expect(statSync(p.helper, { bigint: true }).mtimeNs).toBe(before.mtimeNs);
    const longer = await hash(p.entry);
    expect(longer.cached).toBe(false);
    expect(longer.hash).not.toBe(same.hash);
  }, 120_000);

  it('a file written in the last second is not recorded (it may have changed while esbuild read it); this process still reuses its build', async () => {
    const p = project();
    writeFileSync(p.helper, readFileSync(p.helper, 'utf8'));
    const first = await hash(p.entry);
    expect(first.cached).toBe(false);
    expect(await hash(p.entry)).toEqual({ hash: first.hash, cached: true });
    expect(hashInChild(p.entry)).toEqual({ hash: first.hash, cached: false });
  }, 60_000);
});

describe('the code hash where the loader cannot load the graph (tsx loads it)', () => {
  it('is the full bundle\'s hash, kept in the cache file by the stamps of its files', async () => {
    const p = project();
    put(p.helper, `${readFileSync(p.helper, 'utf8')}export const here = __dirname;\n`);
    const cacheFile = path.join(cache, 'code-hashes.json');
    const r = await pipelineCodeHash(p.entry, undefined, { cacheFile });
    if ('error' in r) throw new Error(r.error);
    expect(r.hash).toBe((await bundlePipeline(p.entry, { runtime: false })).hash);
    expect(r.cached).toBe(false);
    r.save?.();
    expect(await pipelineCodeHash(p.entry, undefined, { cacheFile })).toEqual({ hash: r.hash, cached: true });
  }, 60_000);
});

describe('the code-hash cache file', () => {
  it('a damaged or foreign entry is a miss, never a hash nor a crash', async () => {
    const { cachedCodeHash, graphStamps, saveCodeHash } = await import('../src/code-hash.ts');
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-codehash-file-'));
    dirs.push(dir);
    const file = path.join(dir, 'code-hashes.json');
    put(path.join(dir, 'a.ts'), 'export const a = 1;\n');
    const stamps = graphStamps(dir, ['a.ts'])!;
    const hash = 'ab'.repeat(32);
    saveCodeHash(file, 'k', hash, stamps);
    expect(cachedCodeHash(file, 'k')).toBe(hash);
    const good = JSON.parse(readFileSync(file, 'utf8')) as { entries: { k: Record<string, unknown> } };
    for (const damage of [{ hash: 5 }, { hash: 'not a hash' }, { files: 7 }, { files: [[1, 2, 3, 4]] }, { files: null }]) {
      writeFileSync(file, JSON.stringify({ ...good, entries: { k: { ...good.entries.k, ...damage } } }));
      expect(cachedCodeHash(file, 'k'), JSON.stringify(damage)).toBeUndefined();
    }
    // a key that names an Object.prototype member is no entry
    writeFileSync(file, JSON.stringify({ version: 1, entries: {} }));
    expect(cachedCodeHash(file, 'constructor')).toBeUndefined();
  });
});
