/**
 * What runs inside a bundle (see index.ts): the bundle's entry hands its pipeline here. Run as a
 * program (`node bundle.mjs exec …` or `node bundle.mjs ir`) it executes one step through the
 * same executor as `sluice exec`, or prints the pipeline's IR; imported, it does nothing.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { execMain, type LoadedPipeline } from '@sluice/executor';
import { checkpointStoreFromEnv, CheckpointSync } from './checkpoint-sync.ts';

function flag(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === name) return argv[i + 1];
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  }
  return undefined;
}

/**
 * Runs the step with its checkpoints kept in the artifact repository when the pod is configured
 * for it (SLUICE_CHECKPOINT_S3): restored before, uploaded during and after (see checkpoint-sync.ts).
 */
async function withCheckpoints(argv: string[], run: (argv: string[]) => Promise<number>): Promise<number> {
  const store = checkpointStoreFromEnv();
  const runId = flag(argv, '--run-id') ?? process.env.SLUICE_RUN_ID;
  const task = flag(argv, '--task');
  if (!store || !runId || !task) return run(argv);
  const dir = flag(argv, '--checkpoint-dir') ?? '/tmp/sluice/checkpoints';
  const sync = await CheckpointSync.open(store, runId, task, dir);
  const restored = await sync.restore();
  if (restored.length) process.stderr.write(`sluice: restored ${restored.length} checkpoint file(s) from ${sync.prefix}\n`);
  sync.start();
  try {
    return await run(flag(argv, '--checkpoint-dir') ? argv : [...argv, '--checkpoint-dir', dir]);
  } finally {
    await sync.finish();
  }
}

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
  withCheckpoints(argv, (args) => execMain(args, loaded())).then(
    (code) => { process.exitCode = code; },
    (e: unknown) => {
      process.stderr.write(`sluice exec: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
