import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerTrackingVerbs } from './tracking-verbs.ts';
const UI_PACKAGE = '@sluice/ui';
import { Command, CommanderError, Option } from 'commander';
import { environmentProblem, loadingUserModule, RunnerError, UserModuleError } from '../errors.ts';
import { checkPipelineFile, integerFlag, storeFlag } from './flags.ts';
import { ExecutorError, loadSluicePipeline } from '@sluice/executor';
import { ParamsError, runPipeline } from '../run.ts';
import { StateStore } from '../store/state.ts';
import { formatOutputs } from './outputs.ts';
import { RunView, type ViewMode } from './view.ts';
import { backendFor, registerInspect } from './inspect.ts';
import { LocalBackend } from '../backend/local.ts';
import { locateStore } from '../backend/location.ts';
import { dryRunCommand } from './dry-run.ts';
import { gcCommand, verifyCommand } from './store.ts';
import { registerCompile } from './compile.ts';
import { registerInit } from './init.ts';
import { registerTriggers } from '@sluice/triggers/cli';

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

function viewMode(o: { json?: boolean }): ViewMode {
  return o.json ? 'json' : process.stdout.isTTY && !process.env.CI && process.env.TERM !== 'dumb' ? 'tty' : 'lines';
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
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (file) checkPipelineFile(file);
    // the CLI talks to the run backend; the local one runs the pipeline in this process
    const backend = new LocalBackend(locateStore({ flag: o.store }).root);
    const how = {
      containers: o.containers, durability: o.durability, ...(o.freshProcesses ? { freshProcesses: true } : {}), graceMs: o.grace,
      ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}), ...(o.inProcess ? { mode: 'inprocess' as const } : {}), ...trackingFlags(o),
    };
    const drive = { onEvent: view.event, signal: ac.signal, ...(o.cache ? {} : { noCache: true }) };
    const r = resume
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
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
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

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Runs the `sluice` command line; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('sluice').description('Typed ML pipelines: run locally, compile to Argo Workflows').exitOverride()
    .version(version(), '-V, --version', 'print the version of sluice')
    .showHelpAfterError("(run 'sluice help <command>' for its options)");
  let code = 0;
  runOptions(program.command('run <file>').description('run a pipeline on this machine'))
    .option('--dry-run', 'show the plan without running anything')
    .option('--run-id <id>', 'id of the new run')
    .action(async (file: string, o: RunFlags) => {
      code = o.dryRun ? await dryRunCommand(file, { ...o, store: locateStore({ flag: o.store }).root }) : await drive(file, o);
    });
  runOptions(program.command('resume <run>').description('continue a run: only tasks that had not finished run again'))
    .option('--entry <file>', 'pipeline file (default: the one the run started from)')
    .action(async (run: string, o: RunFlags & { entry?: string }) => {
      code = await drive(o.entry, o, run);
    });
  runOptions(program.command('retry <run>').description('run the failed and unfinished tasks of a failed or interrupted run again'))
    .option('--entry <file>', 'pipeline file (default: the one the run started from)')
    .action(async (run: string, o: RunFlags & { entry?: string; cluster?: boolean; watch?: boolean; json?: boolean }) => {
      if (o.cluster) {
        const c = await import('@sluice/cluster/cli');
        const deps = { view: (json: boolean) => new RunView(json ? 'json' : viewMode({})), setCode: (x: number) => { code = x; } };
        return c.clusterGuarded(deps, () => c.clusterRetry(run, o as never, deps));
      }
      const view = await backendFor(o).getRun(run);
      if (view.status === 'succeeded') throw new RunnerError('run.succeeded', `run ${view.id} succeeded: nothing to retry (start a new run; the cache reuses its steps)`);
      code = await drive(o.entry, o, view.id, true);
    });
  registerInspect(program, (c) => { code = c; });
  program.command('verify').description('hash every stored artifact again; report (and with --remove, delete) the ones whose content changed').option('--store <dir>', 'state directory (default: $SLUICE_STORE, else the nearest .sluice/)', storeFlag).option('--remove', 'remove corrupt objects (the tasks that made them run again)').option('--json', 'JSON output')
    .action(async (o: { store?: string; remove?: boolean; json?: boolean }) => { code = await verifyCommand({ ...o, store: locateStore({ flag: o.store }).root }); });
  program.command('gc').description('remove stored artifacts that no run, task or cache entry refers to').option('--store <dir>', 'state directory (default: $SLUICE_STORE, else the nearest .sluice/)', storeFlag).option('--dry-run', 'list what would be removed')
    .action((o: { store?: string; dryRun?: boolean }) => { code = gcCommand({ ...o, store: locateStore({ flag: o.store }).root }); });
  program.command('exec').description('run one function step (the executor of local runs and Argo pods)').allowUnknownOption().helpOption(false).argument('[args...]')
    .action(async () => {
      const { execMain } = await import('@sluice/executor');
      code = await execMain(argv.slice(argv.indexOf('exec') + 1));
    });
  registerCompile(program, { loadPipeline: (file, exportName) => {
    checkPipelineFile(file);
    return loadingUserModule(file, () => loadSluicePipeline(file, exportName));
  } });
  registerInit(program, (c) => { code = c; });
  registerTriggers(program, { runPipeline, ensureStore: (db) => StateStore.open(db).close(), setCode: (c) => { code = c; } });
  registerTrackingVerbs(program, (c) => { code = c; });
  // sluice ui (web view): @sluice/ui is an optional dependency (named through a variable so the runner's build does not compile it); without it there is no ui verb
  await (import(UI_PACKAGE) as Promise<{ registerUi: (p: Command, setCode: (c: number) => void) => void }>).then((m) => m.registerUi(program, (c) => { code = c; }), (e: NodeJS.ErrnoException) => { if (e.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes(UI_PACKAGE)) throw e; });
  // cluster verbs (submit, watch, terminate, resubmit, build; --cluster on runs/show/logs/stop/retry): @sluice/cluster loads its Kubernetes client only when one runs
  (await import('@sluice/cluster/cli')).registerCluster(program, { view: (json) => new RunView(json ? 'json' : viewMode({})), setCode: (c) => { code = c; } });
  // commander's messages (unknown option, invalid value) are one line on stderr; its help on stdout
  program.configureOutput({ writeErr: (t) => process.stderr.write(t.startsWith('error: ') ? `sluice: ${t.slice(7)}` : t) });
  for (const c of program.commands) c.configureOutput({ writeErr: (t) => process.stderr.write(t.startsWith('error: ') ? `sluice: ${t.slice(7)}` : t) });
  try {
    process.exitCode = undefined;
    await program.parseAsync([...argv], { from: 'user' });
    // a verb that reports its result through process.exitCode (compile) is not overwritten with 0
    return code || (typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0) || 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (process.env.SLUICE_DEBUG === '1') process.stderr.write(`${(e instanceof UserModuleError ? (e.original as Error)?.stack : undefined) ?? (e as Error).stack ?? e}\n`);
    if (e instanceof ParamsError) {
      process.stderr.write(`sluice: ${e.message}\nnothing was run.\n`);
      return 2;
    }
    if (e instanceof RunnerError && e.code === 'store.write') {
      process.stderr.write(`sluice: ${e.message}\n`);
      return 1;
    }
    if (e instanceof RunnerError || e instanceof ExecutorError || ['SluiceValidationError', 'TrackingError', 'MlflowError'].includes((e as Error).name)) {
      process.stderr.write(`sluice: ${(e as Error).message}\n`);
      return 2;
    }
    const env = environmentProblem(e);
    if (env) {
      process.stderr.write(`sluice: ${env}\n`);
      return 1;
    }
    process.stderr.write(`sluice: internal error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}
