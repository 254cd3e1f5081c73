/**
 * The code part of cache keys ({@link pipelineCodeHash}: the loader's module-graph hash), and for a
 * graph the loader cannot load, the full bundle's hash cached by the stamps of the module graph's
 * files so that a run whose code did not change skips esbuild. Light to import (the CLI's
 * compile path does): the bundler loads only for that fallback.
 *
 * The cache's rule: an entry serves a run when the tool stamp (esbuild's version and this package's
 * own module, whose text shapes the bundle) and every file of the recorded module graph (plus
 * the lockfiles at the root) still has the recorded path, size, mtime and ctime (nanoseconds).
 * Any difference re-bundles, and the new bundle's content hash is the key. An edit that keeps the
 * size is caught by the mtime; one whose mtime was put back (`touch -d`, `cp -p`) by the ctime,
 * which no user call can set back (and by the size where it changed). What is not a file of the
 * graph is not watched: a new file that would change how an import resolves, without any
 * bundled file or lockfile changing, is seen on the next change (or with `--no-cache`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isStamp, LOCKFILES, moduleGraphHash, stamp, stampMtimeMs, type Stamp } from '@sluice/executor/graph-load';
import { writeCacheFile } from '@sluice/executor/paths';

interface Entry { readonly hash: string; readonly tool: string; readonly files: readonly Stamp[]; readonly usedAt: number }
interface CacheFile { readonly version: 1; readonly entries: { readonly [key: string]: Entry } }

const MAX_ENTRIES = 64;

let toolStamp: string | undefined;
/** esbuild's version and the stamp of this package's code (the bundle recipe). */
function tool(): string {
  if (toolStamp) return toolStamp;
  let esbuild = 'unknown';
  try {
    esbuild = (JSON.parse(readFileSync(createRequire(import.meta.url).resolve('esbuild/package.json'), 'utf8')) as { version: string }).version;
  } catch { /* keyed as unknown */ }
  const self = stamp(fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './index.ts' : './index.js', import.meta.url)));
  return (toolStamp = `esbuild ${esbuild}; bundle ${self[1] >= 0 ? self.slice(1).join(':') : 'unknown'}`);
}

function read(file: string): CacheFile {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as CacheFile;
    if (c.version === 1 && c.entries && typeof c.entries === 'object') return c;
  } catch { /* none yet, or unreadable: start again */ }
  return { version: 1, entries: {} };
}

/** The stamps of `inputs` (relative to `root`) and of the lockfiles at `root`; undefined when one is not a file or was modified after `notAfterMs`. */
export function graphStamps(root: string, inputs: readonly string[], notAfterMs = Infinity): Stamp[] | undefined {
  // esbuild names the generated entry `<dir>/<sluice-bundle-entry>` and may prefix a namespace (`file:`)
  const modules = inputs.filter((i) => !i.includes('<sluice-bundle-entry>')).map((i) => path.resolve(root, i.replace(/^[a-z-]+:/, '')));
  const files = [...modules, ...LOCKFILES.map((l) => path.join(root, l)).filter((f) => existsSync(f))];
  const out: Stamp[] = [];
  for (const f of [...new Set(files)].sort()) {
    const s = stamp(f);
    if (s[1] < 0) return undefined; // a module that is not a file (a virtual one): not cacheable by stamps
    if (stampMtimeMs(s) >= notAfterMs) return undefined;
    out.push(s);
  }
  return out;
}

/** Whether a kept entry has the shape {@link saveCodeHash} writes (a damaged or foreign one is a miss, never a hash). */
function wellFormed(e: unknown): e is Entry {
  if (typeof e !== 'object' || e === null) return false;
  const { hash, tool: t, files } = e as Partial<Entry>;
  return typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash) && typeof t === 'string' && Array.isArray(files) && files.every(isStamp);
}

/** The cached hash for `key`, when the tool and every file still match their stamps. */
export function cachedCodeHash(cacheFile: string, key: string): string | undefined {
  const { entries } = read(cacheFile);
  const e: unknown = Object.hasOwn(entries, key) ? entries[key] : undefined;
  if (!wellFormed(e) || e.tool !== tool()) return undefined;
  for (const [file, size, mtime, ctime] of e.files) {
    const now = stamp(file);
    if (now[1] !== size || now[2] !== mtime || now[3] !== ctime) return undefined;
  }
  return e.hash;
}

/** Records `hash` for `key` with the graph's stamps (atomically; the oldest entries beyond 64 go). */
export function saveCodeHash(cacheFile: string, key: string, hash: string, files: readonly Stamp[]): void {
  const c = read(cacheFile);
  const entries = { ...c.entries, [key]: { hash, tool: tool(), files, usedAt: Date.now() } };
  const kept = Object.entries(entries).sort((a, b) => b[1].usedAt - a[1].usedAt).slice(0, MAX_ENTRIES);
  writeCacheFile(cacheFile, JSON.stringify({ version: 1, entries: Object.fromEntries(kept) }));
}

/** What {@link pipelineCodeHash} found. */
export type CodeHash =
  | { readonly hash: string; readonly cached: boolean; /** Records the hash in the cache file (call once the store exists). */ readonly save?: () => void }
  | { readonly error: string };

/**
 * The code part of cache keys: of a local run's (`sluice run`, `--dry-run`) and of Argo's memoize
 * keys (`sluice compile`, `sluice submit`), one function so the same code gives the same hash
 * everywhere. It is the module-graph hash of the loader `sluice compile` and every step use
 * (`@sluice/executor` `moduleGraphHash`: the built project modules, each imported package's
 * name and version, the lockfile), kept with the built modules, so an unchanged graph answers
 * without esbuild. When that loader cannot load the graph (it then goes through tsx; decided from
 * the sources alone, so every side agrees) it is the hash of the pipeline's full bundle (packages
 * included), and with `cacheFile` a graph whose files have not changed since a recorded bundle
 * gives that bundle's hash without running esbuild (see `code-hash.ts` for the rule); a fresh
 * result then comes with `save`, which records it. On failure: why (the keys then cover each
 * component's `run` source only).
 *
 * @example
 * const c = await pipelineCodeHash('pipeline.ts', undefined, { cacheFile: '.sluice/code-hashes.json' });
 * if ('hash' in c) c.save?.();
 */
export async function pipelineCodeHash(entry: string, exportName?: string, o: { readonly cacheFile?: string } = {}): Promise<CodeHash> {
  try {
    const abs = path.resolve(entry);
    if (!existsSync(abs)) throw new Error(`cannot bundle the pipeline:\n  ${entry}: no such file`);
    const graph = await moduleGraphHash(abs, exportName);
    if (graph) return { hash: graph.hash, cached: graph.kept };
    return await fullBundleHash(abs, exportName, o.cacheFile);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The hash of the pipeline's full bundle (what the loader cannot load), cached in `cacheFile` by the stamps of its files. */
async function fullBundleHash(abs: string, exportName: string | undefined, cacheFile: string | undefined): Promise<CodeHash> {
  const { bundlePipeline, projectRoot } = await import('./index.ts');
  const root = projectRoot(abs);
  const key = `${abs}#${exportName ?? 'default'}@${root}`;
  const hit = cacheFile ? cachedCodeHash(cacheFile, key) : undefined;
  if (hit) return { hash: hit, cached: true };
  // the pipeline's module graph without the executor runtime: what the steps' code depends on
  const started = Date.now();
  const b = await bundlePipeline(abs, { runtime: false, root, ...(exportName === undefined ? {} : { exportName }) });
  // stamped after bundling, so a file written in the last second (perhaps while esbuild read
  // it) makes the entry unsafe to keep: nothing is recorded and the next run bundles again
  const stamps = cacheFile ? graphStamps(b.root, b.inputs, started - 1000) : undefined;
  return { hash: b.hash, cached: false, ...(cacheFile && stamps ? { save: () => saveCodeHash(cacheFile, key, b.hash, stamps) } : {}) };
}
