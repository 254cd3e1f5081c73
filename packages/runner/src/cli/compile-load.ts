/**
 * How `sluice compile` imports the user's pipeline file: through the executor's loader, the one
 * `sluice exec` uses in a pod and in local steps (`@sluice/executor` `graph-load.ts`: the
 * pipeline's own modules bundled with esbuild and imported with plain node, its built module kept
 * in the user's cache directory), so every `run` source, and the component hash over it, is the
 * one a step computes. A compile needs no store: the module-graph hash for memoize keys is the
 * loader's (`@sluice/bundle` `pipelineCodeHash`, as `sluice run` and `sluice submit` take it), kept
 * with the built modules in the user's cache directory; only a graph the loader cannot load (tsx
 * loads it) is hashed from a full bundle, recorded in the store's code-hash cache when a store
 * exists, else in the user's cache directory.
 */
import { existsSync } from 'node:fs';
import { makeDir } from '@sluice/executor/paths';
import { dirname, join, resolve } from 'node:path';
import { RunnerError } from '../errors.ts';

/**
 * Imports `file` and returns its Sluice pipeline (the default export, or `exportName`), through
 * the executor's own loader: the one a pod's `sluice exec` uses, so every `run` source, and the
 * component hash over it, is the text the pod will see, whatever loader this process has.
 *
 * @throws RunnerError when the file is missing; the executor's errors when it has no such export or the export is not a pipeline.
 * @example
 * const p = await importPipelineForCompile('pipelines/train.ts');
 */
export async function importPipelineForCompile(file: string, exportName?: string, o: { readonly onBuilt?: () => void } = {}): Promise<unknown> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new RunnerError('entry.missing', `pipeline file ${file} does not exist`);
  // the loader alone, not the executor's step machinery
  const { loadSluicePipeline } = await import('@sluice/executor/load');
  return loadSluicePipeline(file, exportName, o);
}

/** The module-graph hash for memoize keys, or why there is none; `save` records it once the manifest is written. */
export type CompileCodeHash = { readonly hash: string; readonly save?: () => Promise<void> } | { readonly error: string };

/** The code-hash cache a compile reads and records: the store's when the store exists, else the user cache directory's. */
export async function codeHashCacheFile(store: string): Promise<string> {
  if (existsSync(store)) return join(store, 'code-hashes.json');
  const { sluiceCacheDir } = await import('@sluice/executor/graph-load');
  return join(sluiceCacheDir(), 'code-hashes.json');
}

/**
 * Starts building the pipeline's own modules (esbuild runs in a process of its own) before the
 * compiler and the SDK load, so that the build of a first compile overlaps them; the load and the
 * code hash then take its result.
 *
 * @example
 * prepareForCompile('pipeline.ts'); // then import the compiler…
 */
export function prepareForCompile(file: string): void {
  import('@sluice/executor/graph-load').then((g) => g.prefetchBuild(file), () => { /* the load reports it */ });
}

/**
 * Loads a pipeline for `sluice compile`; with `codeHash`, also the module-graph hash, asked once
 * the pipeline's modules are built: it is the build's own (no second esbuild run), and where the
 * loader cannot load the graph, a full bundle's, whose build then runs while the pipeline is
 * imported through tsx and compiled rather than before.
 *
 * @example
 * const { pipeline, code } = await loadForCompile('pipeline.ts', undefined, { store: '.sluice', codeHash: true });
 */
export async function loadForCompile(file: string, exportName: string | undefined, o: { readonly store: string; readonly codeHash?: boolean }): Promise<{ pipeline: unknown; code: Promise<CompileCodeHash> }> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new RunnerError('entry.missing', `pipeline file ${file} does not exist`);
  let built!: () => void;
  const ready = new Promise<void>((r) => { built = r; });
  const code: Promise<CompileCodeHash> = o.codeHash === false ? Promise.resolve({ error: 'not asked for' }) : (async () => {
    await ready;
    const cacheFile = await codeHashCacheFile(o.store);
    const h = await (await import('@sluice/bundle/code-hash')).pipelineCodeHash(abs, exportName, { cacheFile });
    if ('error' in h) return h;
    const { save } = h;
    return {
      hash: h.hash,
      ...(save ? {
        save: async () => {
          makeDir(dirname(cacheFile), 0o700);
          save();
        },
      } : {}),
    };
  })().catch((e: Error) => ({ error: e.message }));
  const pipeline = await importPipelineForCompile(file, exportName, { onBuilt: built });
  built(); // loaded through tsx: nothing was built (a failed load starts nothing)
  return { pipeline, code };
}
