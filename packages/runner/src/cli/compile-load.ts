/**
 * How `sluice compile` imports the user's pipeline file: tsx's hooks registered once for the
 * whole process (ESM and CommonJS), then a plain `import()`. The executor's `tsImport` loads the
 * file under a namespace of its own, so the SDK and zod the pipeline imports load a second time
 * beside the CLI's copies (and every one of their modules goes through tsx's hooks thread);
 * registered globally they are the modules the CLI already has. tsx transforms each file as the
 * executor's tsx does in a pod, so `run` sources, and the component hashes over them, are the same.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isPipeline } from '@sluice/sdk';
import { RunnerError } from '../errors.ts';

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
