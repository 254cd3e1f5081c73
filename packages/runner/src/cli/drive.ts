/**
 * `sluice run`, `resume` and `retry`: a run driven by this process through the local backend,
 * shown live, stopped cleanly on SIGINT/SIGTERM.
 */
import { type Command, Option } from 'commander';
import { RunnerError } from '../errors.ts';
import { LocalBackend } from '../backend/local.ts';
import { locateStore } from '../backend/location.ts';
import { checkPipelineFile, integerFlag, storeFlag } from './flags.ts';
import { formatOutputs } from './outputs.ts';
import { RunView, viewMode } from './view.ts';
import { backendFor } from './inspect.ts';
import { dryRunCommand } from './dry-run.ts';
import type { VerbContext } from './verbs.ts';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function parseParamFlags(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const i = f.indexOf('=');
    if (i <= 0) throw new RunnerError('cli.param', `--param expects name=value, got "${f}"`);
    out[f.slice(0, i)] = f.slice(i + 1);
  }
  return out;
}

interface RunFlags {
  export?: string; param: string[]; store?: string; inProcess?: boolean; concurrency?: number; containers: 'auto' | 'require' | 'host';
  cache: boolean; freshProcesses?: boolean; dryRun?: boolean; json?: boolean; durability: 'normal' | 'full'; runId?: string; grace: number;
  trackingUri?: string; trackingExperiment?: string; trackingRequired?: boolean; trackingArtifacts?: 'none' | 'models' | 'all';
}

/** The `--tracking-*` flags: they override the environment and the pipeline's `tracking` option. */
function trackingFlags(o: RunFlags) {
  const t = {
    ...(o.trackingUri !== undefined ? { uri: o.trackingUri } : {}), ...(o.trackingExperiment !== undefined ? { experiment: o.trackingExperiment } : {}),
    ...(o.trackingRequired !== undefined ? { required: o.trackingRequired } : {}), ...(o.trackingArtifacts !== undefined ? { artifacts: o.trackingArtifacts } : {}),
  };
  return Object.keys(t).length ? { tracking: t } : {};
}

async function drive(file: string | undefined, o: RunFlags, resume?: string, retry = false): Promise<number> {
  const view = new RunView(viewMode(o));
  const ac = new AbortController();
  let stops = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    stops++;
    if (stops > 1) process.exit(130);
    const text = `${sig}: stopping; running steps get ${o.grace} ms to save a checkpoint. \`sluice resume\` continues the run. (again to quit at once)`;
    if (viewMode(o) === 'tty') view.notice(text); // kept above the live view, not drawn over
    else process.stderr.write(`\n${text}\n`);
    ac.abort('preempted');
  };
  // Armed at the run's first event, once the pipeline's module has loaded: a handler of ours makes
  // Node wait for it, and a module that never finishes loading (a loop at its top level) would
  // leave Ctrl-C unanswered; before that, a signal ends the process as it would any other.
  let armed = false;
  const arm = () => {
    if (armed) return;
    armed = true;
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  };
  try {
    if (file) checkPipelineFile(file);
    // the CLI talks to the run backend; the local one runs the pipeline in this process
    const backend = new LocalBackend(locateStore({ flag: o.store }).root);
    const how = {
      containers: o.containers, durability: o.durability, ...(o.freshProcesses ? { freshProcesses: true } : {}), graceMs: o.grace,
      ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}), ...(o.inProcess ? { mode: 'inprocess' as const } : {}), ...trackingFlags(o),
    };
    const drive = { onEvent: (e: Parameters<typeof view.event>[0]) => { arm(); view.event(e); }, signal: ac.signal, ...(o.cache ? {} : { noCache: true }) };
    const r = resume !== undefined
      ? await (retry ? backend.retry : backend.resume).call(backend, resume, { ...drive, ...how, ...(file ? { entry: file } : {}) })
      : await backend.submit({ file: file as string, ...(o.export ? { exportName: o.export } : {}), params: parseParamFlags(o.param), paramsFromCli: true, ...(o.runId !== undefined ? { runId: o.runId } : {}), ...how }, drive);
    if (!o.json) {
      process.stdout.write(`run ${r.id} ${r.status}${r.error ? `:\n${r.error}` : ''}\n`);
      if (r.status !== 'interrupted') process.stdout.write(formatOutputs(r.outputs));
      if (r.status === 'interrupted') process.stdout.write(`continue with: sluice resume ${r.id}\n`);
      if (r.status === 'failed') process.stdout.write(`details: sluice show ${r.id}; logs: sluice logs ${r.id}\n`);
    }
    return r.status === 'succeeded' ? 0 : r.status === 'interrupted' ? 130 : 1;
  } finally {
    view.close();
    if (armed) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

function runOptions(cmd: Command): Command {
  return cmd
    .option('--export <name>', 'named export holding the pipeline (default: the default export)')
    .option('-p, --param <name=value>', 'pipeline parameter (repeatable)', collect, [])
    .option('--store <dir>', 'state and artifact directory (default: $SLUICE_STORE, else the nearest .sluice/ here or above, else ./.sluice)', storeFlag)
    .option('--in-process', 'run function steps in this process instead of child processes')
    .option('--fresh-processes', 'a new process for every step attempt (as in an Argo pod) instead of warm worker processes')
    .option('--concurrency <n>', 'steps running at once (default: number of cores)', integerFlag(1))
    .addOption(new Option('--containers <policy>', 'container steps without docker/podman: run on the host, or fail').choices(['auto', 'require', 'host']).default('auto'))
    .option('--no-cache', 'do not reuse cached step results')
    .option('--json', 'one JSON event per line')
    .addOption(new Option('--durability <level>', 'normal: survives a killed process; full: also a power cut').choices(['normal', 'full']).default('normal'))
    .option('--grace <ms>', 'time a stopped step gets to save a checkpoint', integerFlag(0), 10000)
    .option('--tracking-uri <uri>', 'MLflow server for this run, or "embedded" (overrides $SLUICE_TRACKING_URI, $MLFLOW_TRACKING_URI and the pipeline\'s tracking.uri)')
    .option('--tracking-experiment <name>', 'MLflow experiment (default: $SLUICE_TRACKING_EXPERIMENT, the pipeline\'s tracking.experiment, else its name)')
    .option('--tracking-required', 'refuse to start when the tracking server cannot be reached')
    .option('--no-tracking-required', 'buffer and warn when the tracking server cannot be reached, whatever the pipeline says')
    .addOption(new Option('--tracking-artifacts <which>', 'output artifacts uploaded to MLflow').choices(['none', 'models', 'all']));
}

/** Registers `run`, `resume` and `retry`. */
export function registerDrive(program: Command, ctx: VerbContext): void {
  runOptions(program.command('run <file>').description('run a pipeline on this machine'))
    .option('--dry-run', 'show the plan without running anything')
    .option('--run-id <id>', 'id of the new run')
    .action(async (file: string, o: RunFlags & { cluster?: boolean }) => {
      // `sluice run --cluster` is `sluice submit` (its flags are added by @sluice/cluster's registerCluster)
      if (o.cluster) {
        const c = await import('@sluice/cluster/cli');
        return c.clusterRun(file, o as never, { view: (json: boolean) => new RunView(json ? 'json' : viewMode({})), setCode: ctx.setCode });
      }
      ctx.setCode(o.dryRun ? await dryRunCommand(file, { ...o, store: locateStore({ flag: o.store }).root }) : await drive(file, o));
    });
  runOptions(program.command('resume <run>').description('continue a run: only tasks that had not finished run again'))
    .option('--entry <file>', 'pipeline file (default: the one the run started from)')
    .action(async (run: string, o: RunFlags & { entry?: string }) => {
      ctx.setCode(await drive(o.entry, o, run));
    });
  runOptions(program.command('retry <run>').description('run the failed and unfinished tasks of a failed or interrupted run again'))
    .option('--entry <file>', 'pipeline file (default: the one the run started from)')
    .action(async (run: string, o: RunFlags & { entry?: string; cluster?: boolean; watch?: boolean; json?: boolean }) => {
      if (o.cluster) {
        const c = await import('@sluice/cluster/cli');
        const deps = { view: (json: boolean) => new RunView(json ? 'json' : viewMode({})), setCode: ctx.setCode };
        return c.clusterGuarded(deps, () => c.clusterRetry(run, o as never, deps));
      }
      const view = await backendFor(o).getRun(run);
      if (view.status === 'succeeded') throw new RunnerError('run.succeeded', `run ${view.id} succeeded: nothing to retry (start a new run; the cache reuses its steps)`);
      ctx.setCode(await drive(o.entry, o, view.id, true));
    });
}
