import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PipelineIR } from '@sluice/sdk';
import { ExecutorError } from './errors.ts';
import { NOT_A_FILE, pathKind } from './paths.ts';
import { importThroughBundle, type LoadOptions } from './graph-load.ts';
import type { FunctionRuntime, LoadedPipeline } from './types.ts';

interface SdkApi {
  isPipeline(x: unknown): boolean;
  toIR(p: unknown): PipelineIR;
  functionRuntimes(p: unknown): ReadonlyMap<string, FunctionRuntime>;
}

let sdk: Promise<SdkApi> | undefined;
function loadSdk(): Promise<SdkApi> {
  sdk ??= import('@sluice/sdk') as unknown as Promise<SdkApi>;
  return sdk;
}

/**
 * Imports a pipeline file (its own modules bundled with esbuild, `graph-load.ts`; through tsx when
 * they cannot be bundled faithfully) and returns its default export, or the named one.
 *
 * @example
 * const p = await importPipelineFile('examples/iris/pipeline.ts');
 */
export async function importPipelineFile(file: string, exportName?: string, o: LoadOptions = {}): Promise<unknown> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new ExecutorError('entry.missing', `pipeline file ${file} does not exist`);
  const mod = await importModuleFile(abs, o);
  const name = exportName ?? 'default';
  let value = mod[name];
  // tsx may wrap a module's exports under `default` when loading it as CommonJS
  if (value === undefined && mod.default && typeof mod.default === 'object') value = (mod.default as Record<string, unknown>)[name];
  // A CommonJS module (a package.json with "type": "commonjs", what `npm init -y` writes) comes back as
  // { default: module.exports }, and TypeScript's `export default` is module.exports.default.
  if (name === 'default' && isCommonJsExports(value)) value = value.default;
  if (value === undefined) {
    const names = Object.keys(mod).filter((k) => k !== '__esModule');
    throw new ExecutorError('entry.export', `${file} has no ${exportName ? `export "${exportName}"` : 'default export'}${names.length ? ` (it exports: ${names.join(', ')})` : ''}`);
  }
  return value;
}

/**
 * Imports a module file with the loader of compile and every step (`graph-load.ts`: its own modules
 * bundled with esbuild; tsx for what a bundle cannot load faithfully) and returns its namespace.
 * Whatever compiles a pipeline it imports (triggers' templates too) must load it so, or its
 * component hashes are not the ones a pod computes.
 *
 * @example
 * const mod = await importModuleFile('triggers.ts');
 */
export async function importModuleFile(file: string, o: LoadOptions = {}): Promise<Record<string, unknown>> {
  const abs = resolve(file);
  // a FIFO or a device would block the build reading it (or never end: /dev/zero)
  const kind = pathKind(abs);
  if (kind === 'directory' || kind === 'special') throw new ExecutorError('entry.notFile', `${file}: ${NOT_A_FILE[kind]}, not a module file`);
  return (await importThroughBundle(abs, o)) ?? (await tsImportFile(abs));
}

async function tsImportFile(abs: string): Promise<Record<string, unknown>> {
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>;
}

function isCommonJsExports(x: unknown): x is { default: unknown } {
  return typeof x === 'object' && x !== null && (x as { __esModule?: unknown }).__esModule === true && 'default' in x;
}

function isLoaded(x: unknown): x is LoadedPipeline {
  return typeof x === 'object' && x !== null && (x as { ir?: { kind?: unknown } }).ir?.kind === 'pipeline' && (x as { runtimes?: unknown }).runtimes instanceof Map;
}
function isIR(x: unknown): x is PipelineIR {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'pipeline' && typeof (x as { irVersion?: unknown }).irVersion === 'number' && 'dag' in x;
}

/**
 * Turns what a user hands the runner into IR plus runnable components: a Sluice pipeline (through
 * the SDK), a `{ ir, runtimes }` pair, or bare IR (container components only).
 */
export async function toLoadedPipeline(x: unknown, what = 'value'): Promise<LoadedPipeline> {
  if (isLoaded(x)) return x;
  if (isIR(x)) return { ir: x, runtimes: new Map() };
  const api = await loadSdk();
  if (api.isPipeline(x)) return { ir: api.toIR(x), runtimes: api.functionRuntimes(x), source: x };
  throw new ExecutorError('entry.notPipeline', `${what} is not a Sluice pipeline (expected the value returned by pipeline(...))`);
}

/** Loads a pipeline file: import, then {@link toLoadedPipeline}. */
export async function loadPipelineFile(file: string, exportName?: string): Promise<LoadedPipeline> {
  // steps run from it: their stack traces name the user's lines
  const x = await importPipelineFile(file, exportName, { sourceMaps: true });
  return toLoadedPipeline(x, exportName ? `export "${exportName}" of ${file}` : `the default export of ${file}`);
}

/**
 * Imports a pipeline file and returns its Sluice pipeline (default export, or `exportName`),
 * throwing a clear error when that export is not one. Used by `sluice compile`.
 */
export async function loadSluicePipeline(file: string, exportName?: string, o: LoadOptions = {}): Promise<unknown> {
  const x = await importPipelineFile(file, exportName, o);
  const api = await loadSdk();
  if (!api.isPipeline(x)) throw new ExecutorError('entry.notPipeline', `${exportName ? `export "${exportName}"` : 'the default export'} of ${file} is not a Sluice pipeline (expected the value returned by pipeline(...))`);
  return x;
}
