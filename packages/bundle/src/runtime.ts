/**
 * What runs inside a bundle (see index.ts): the bundle's entry hands its pipeline here. Run as a
 * program (`node bundle.mjs exec …` or `node bundle.mjs ir`) it executes one step through the
 * same executor as `sluice exec`, or prints the pipeline's IR; imported, it does nothing.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { execMain, type LoadedPipeline } from '@sluice/executor';

/** The usage line of a bundle run as a program. */
export const BUNDLE_USAGE = 'usage: node <bundle>.mjs exec <sluice exec flags> | node <bundle>.mjs ir';

function isMain(metaUrl: string): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return pathToFileURL(realpathSync(argv1)).href === metaUrl;
  } catch {
    return false;
  }
}

/**
 * Called by the bundle's entry with its pipeline. When the bundle is the main module, dispatches
 * on the first argument and sets the exit code.
 */
export function bundleMain(loaded: () => LoadedPipeline, metaUrl: string): void {
  if (!isMain(metaUrl)) return;
  const [verb, ...rest] = process.argv.slice(2);
  if (verb === 'ir') {
    process.stdout.write(`${JSON.stringify(loaded().ir)}\n`);
    return;
  }
  if (verb !== 'exec') {
    process.stderr.write(`${BUNDLE_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  // `--entry` names the file to import in a project checkout; the bundle carries its pipeline.
  const argv = rest.some((a) => a === '--entry' || a.startsWith('--entry=')) ? rest : ['--entry', process.argv[1] as string, ...rest];
  execMain(argv, loaded()).then(
    (code) => { process.exitCode = code; },
    (e: unknown) => {
      process.stderr.write(`sluice exec: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
