/**
 * How `sluice compile` imports the user's pipeline file: tsx's hooks registered once for the
 * whole process (ESM and CommonJS), then a plain `import()`. The executor's `tsImport` loads the
 * file under a namespace of its own, so the SDK and zod the pipeline imports load a second time
 * beside the CLI's copies (and every one of their modules goes through tsx's hooks thread);
 * registered globally they are the modules the CLI already has. tsx transforms each file as the
 * executor's tsx does in a pod, so `run` sources, and the component hashes over them, are the same.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isPipeline, toIR, type Pipeline } from '@sluice/sdk';
import { RunnerError } from '../errors.ts';
import { bundleForCompile, cacheKey, cachedEntry, importCached, learn, recordSources } from './compile-cache.ts';

let registered: Promise<void> | undefined;
function registerTsx(): Promise<void> {
  registered ??= Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]).then(([esm, cjs]) => {
    cjs.register();
    esm.register();
  });
  return registered;
}

function isCommonJsExports(x: unknown): x is { default: unknown } {
  return typeof x === 'object' && x !== null && (x as { __esModule?: unknown }).__esModule === true && 'default' in x;
}

/**
 * Imports `file` and returns its Sluice pipeline (the default export, or `exportName`).
 *
 * @throws RunnerError when the file is missing, has no such export, or the export is not a pipeline.
 * @example
 * const p = await importPipelineForCompile('pipelines/train.ts');
 */
export async function importPipelineForCompile(file: string, exportName?: string): Promise<unknown> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new RunnerError('entry.missing', `pipeline file ${file} does not exist`);
  await registerTsx();
  const mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  const name = exportName ?? 'default';
  let value = mod[name];
  // tsx may wrap a module's exports under `default` when loading it as CommonJS
  if (value === undefined && mod.default && typeof mod.default === 'object') value = (mod.default as Record<string, unknown>)[name];
  // A CommonJS module ("type": "commonjs") comes back as { default: module.exports }, and TypeScript's `export default` is module.exports.default.
  if (name === 'default' && isCommonJsExports(value)) value = value.default;
  if (value === undefined) {
    const names = Object.keys(mod).filter((k) => k !== '__esModule');
    throw new RunnerError('entry.export', `${file} has no ${exportName ? `export "${exportName}"` : 'default export'}${names.length ? ` (it exports: ${names.join(', ')})` : ''}`);
  }
  if (!isPipeline(value)) throw new RunnerError('entry.notPipeline', `${exportName ? `export "${exportName}"` : 'the default export'} of ${file} is not a Sluice pipeline (expected the value returned by pipeline(...))`);
  return value;
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
