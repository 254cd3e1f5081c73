/**
 * How `sluice compile` imports the user's pipeline file: from the compile cache's bundle with plain
 * node when the code did not change since a compile that recorded it, else through the executor's
 * loader (tsx), the same one a pod uses, so `run` sources and the component hashes over them are
 * the ones the pod computes.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isPipeline, toIR, type Pipeline } from '@sluice/sdk';
import { RunnerError } from '../errors.ts';
import { bundleForCompile, cacheKey, cachedEntry, importCached, learn, recordSources } from './compile-cache.ts';

/**
 * Imports `file` and returns its Sluice pipeline (the default export, or `exportName`), through
 * the executor's own loader: the one a pod's `sluice exec` uses, so every `run` source, and the
 * component hash over it, is the text the pod will see (a loader of the CLI's own, with tsx
 * registered globally, gave the workspace's @sluice/tracking components other sources than the
 * executor's and so other hashes).
 *
 * @throws RunnerError when the file is missing; the executor's errors when it has no such export or the export is not a pipeline.
 * @example
 * const p = await importPipelineForCompile('pipelines/train.ts');
 */
export async function importPipelineForCompile(file: string, exportName?: string): Promise<unknown> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new RunnerError('entry.missing', `pipeline file ${file} does not exist`);
  const { loadSluicePipeline } = await import('@sluice/executor');
  return loadSluicePipeline(file, exportName);
}

/** The module-graph hash for memoize keys, or why there is none; `save` records what this compile learned. */
export type CompileCodeHash = { readonly hash: string; readonly save?: () => Promise<void> } | { readonly error: string };

/**
 * Loads a pipeline for `sluice compile`: from the compile cache when the code did not change since
 * a compile that recorded it (`compile-cache.ts`), else through tsx, bundling the module graph
 * meanwhile for its hash (and for the cache, once the manifest is written: `code.save`).
 *
 * @example
 * const { pipeline, code } = await loadForCompile('pipeline.ts', undefined, { store: '.sluice' });
 */
export async function loadForCompile(file: string, exportName: string | undefined, o: { readonly store: string; readonly learn?: boolean }): Promise<{ pipeline: unknown; code: Promise<CompileCodeHash> }> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new RunnerError('entry.missing', `pipeline file ${file} does not exist`);
  const dir = join(o.store, 'compile-cache');
  const entry = cachedEntry(dir, cacheKey(abs, exportName));
  if (entry) {
    const cached = await importCached(dir, entry, exportName, (p) => (isPipeline(p) ? toIR(p) : undefined));
    if (cached !== undefined && isPipeline(cached)) return { pipeline: cached, code: Promise.resolve({ hash: entry.codeHash }) };
  }
  const started = Date.now();
  const bundling = import('@sluice/bundle');
  const hashed = bundling.then((b) => b.pipelineCodeHash(abs, exportName, { cacheFile: join(o.store, 'code-hashes.json') }));
  const graph = o.learn === false ? undefined : bundleForCompile(abs);
  hashed.catch(() => {});
  graph?.catch(() => {});
  // the pipeline is built while sources are recorded: components defined inside it hash their run() then
  const { value, sources } = await recordSources(async () => {
    const v = await importPipelineForCompile(file, exportName);
    toIR(v as Pipeline);
    return v;
  });
  const code = hashed.then((h): CompileCodeHash => {
    if ('error' in h) return h;
    return {
      hash: h.hash,
      save: async () => {
        // the store's own caches, shared with local runs (created as a run creates the store: the owner's only)
        mkdirSync(o.store, { recursive: true, mode: 0o700 });
        h.save?.();
        const b = graph && (await graph.catch((e: Error) => {
          if (process.env.SLUICE_DEBUG === '1') process.stderr.write(`sluice: the compile cache kept nothing: ${e.stack}\n`);
          return undefined;
        }));
        if (b) await learn(dir, { entryAbs: abs, exportName, ir: toIR(value as Pipeline), sources, bundle: b, codeHash: h.hash, startedMs: started, build: (p) => (isPipeline(p) ? toIR(p) : undefined) }).catch((e: Error) => {
          if (process.env.SLUICE_DEBUG === '1') process.stderr.write(`sluice: the compile cache kept nothing: ${e.stack}\n`);
          return false;
        });
      },
    };
  }, (e: Error) => ({ error: e.message }));
  return { pipeline: value, code };
}
