import { registerTrackingVerbs } from './tracking-verbs.ts';
import { registerUi } from '@sluice/ui';
import { Command, CommanderError, Option } from 'commander';
import { RunnerError } from '../errors.ts';
import { ExecutorError, loadSluicePipeline } from '@sluice/executor';
import { ParamsError, runPipeline, storePaths } from '../run.ts';
import { StateStore } from '../store/state.ts';
import { formatOutputs } from './outputs.ts';
import { RunView, type ViewMode } from './view.ts';
import { lineageCommand, logsCommand, runsCommand, showCommand } from './inspect.ts';
import { dryRunCommand } from './dry-run.ts';
import { registerCompile } from './compile.ts';
import { registerInit } from './init.ts';

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
  return o.json ? 'json' : process.stdout.isTTY && !process.env.CI ? 'tty' : 'lines';
}

interface RunFlags {
  export?: string; param: string[]; store: string; inProcess?: boolean; concurrency?: string; containers: 'auto' | 'require' | 'host';
  cache: boolean; freshProcesses?: boolean; dryRun?: boolean; json?: boolean; durability: 'normal' | 'full'; runId?: string; grace: string;
}

async function drive(file: string | undefined, o: RunFlags, resume?: string): Promise<number> {
  const view = new RunView(viewMode(o));
  const ac = new AbortController();
  let stops = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    stops++;
    if (stops > 1) process.exit(130);
    process.stderr.write(`\n${sig}: stopping; running steps get ${o.grace} ms to save a checkpoint. \`sluice resume\` continues the run. (again to quit at once)\n`);
    ac.abort('preempted');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let entry = file;
    let exportName = o.export;
    let mode: 'process' | 'inprocess' = o.inProcess ? 'inprocess' : 'process';
    if (resume) {
      const store = StateStore.open(storePaths(o.store).db, { readonly: true });
      try {
        const row = store.findRun(resume);
        resume = row.id;
        entry ??= row.entry ?? undefined;
        exportName ??= row.export_name ?? undefined;
        if (!o.inProcess && row.mode === 'inprocess') mode = 'inprocess';
      } finally {
        store.close();
      }
      if (!entry) throw new RunnerError('resume.noEntry', `run ${resume} was started from code, not from a file; resume it with runPipeline(pipeline, { resume: '${resume}' })`);
    }
    // a file path: runPipeline imports it once, with tsx, as the steps do
    const r = await runPipeline(entry as string, {
      entry: entry as string, ...(exportName ? { exportName } : {}), mode, storeDir: o.store,
      params: parseParamFlags(o.param), paramsFromCli: true, containers: o.containers, noCache: !o.cache,
      durability: o.durability, ...(o.freshProcesses ? { freshProcesses: true } : {}), graceMs: Number(o.grace), onEvent: view.event, signal: ac.signal,
      ...(o.concurrency ? { concurrency: Number(o.concurrency) } : {}), ...(o.runId ? { runId: o.runId } : {}), ...(resume ? { resume } : {}),
    });
    if (!o.json) {
      process.stdout.write(`run ${r.runId} ${r.status}${r.error ? `:\n${r.error}` : ''}\n`);
      if (r.status !== 'interrupted') process.stdout.write(formatOutputs(r.outputs));
      if (r.status === 'interrupted') process.stdout.write(`continue with: sluice resume ${r.runId}\n`);
      if (r.status === 'failed') process.stdout.write(`details: sluice show ${r.runId}; logs: sluice logs ${r.runId}\n`);
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
    .option('--store <dir>', 'state and artifact directory', '.sluice')
    .option('--in-process', 'run function steps in this process instead of child processes')
    .option('--fresh-processes', 'a new process for every step attempt (as in an Argo pod) instead of warm worker processes')
    .option('--concurrency <n>', 'steps running at once (default: number of cores)')
    .addOption(new Option('--containers <policy>', 'container steps without docker/podman: run on the host, or fail').choices(['auto', 'require', 'host']).default('auto'))
    .option('--no-cache', 'do not reuse cached step results')
    .option('--json', 'one JSON event per line')
    .addOption(new Option('--durability <level>', 'normal: survives a killed process; full: also a power cut').choices(['normal', 'full']).default('normal'))
    .option('--grace <ms>', 'time a stopped step gets to save a checkpoint', '10000');
}

/** Runs the `sluice` command line; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('sluice').description('Typed ML pipelines: run locally, compile to Argo Workflows').exitOverride().showHelpAfterError();
  let code = 0;
  runOptions(program.command('run <file>').description('run a pipeline on this machine'))
    .option('--dry-run', 'show the plan without running anything')
    .option('--run-id <id>', 'id of the new run')
    .action(async (file: string, o: RunFlags) => {
      code = o.dryRun ? await dryRunCommand(file, o) : await drive(file, o);
    });
  runOptions(program.command('resume <run>').description('continue a run: only tasks that had not finished run again'))
    .option('--entry <file>', 'pipeline file (default: the one the run started from)')
    .action(async (run: string, o: RunFlags & { entry?: string }) => {
      code = await drive(o.entry, o, run);
    });
  program.command('runs').description('list runs').option('--store <dir>', 'state directory', '.sluice').option('-n, --limit <n>', 'how many', '20').option('--json', 'JSON output')
    .action((o: { store: string; limit: string; json?: boolean }) => { code = runsCommand(o); });
  program.command('show <run>').description('a run: tasks, attempts, cache hits and misses, lineage').option('--store <dir>', 'state directory', '.sluice').option('--json', 'JSON output')
    .action((run: string, o: { store: string; json?: boolean }) => { code = showCommand(run, o); });
  program.command('logs <run> [task]').description("a run's step logs").option('--store <dir>', 'state directory', '.sluice').option('-f, --follow', 'keep printing until the run ends')
    .action(async (run: string, task: string | undefined, o: { store: string; follow?: boolean }) => { code = await logsCommand(run, task, o); });
  program.command('lineage <artifact>').description('walk an artifact back to the tasks and inputs that produced it (hash prefix or store path)').option('--store <dir>', 'state directory', '.sluice').option('--json', 'JSON output')
    .action((a: string, o: { store: string; json?: boolean }) => { code = lineageCommand(a, o); });
  program.command('exec').description('run one function step (the executor of local runs and Argo pods)').allowUnknownOption().helpOption(false).argument('[args...]')
    .action(async () => {
      const { execMain } = await import('@sluice/executor');
      code = await execMain(argv.slice(argv.indexOf('exec') + 1));
    });
  registerCompile(program, { loadPipeline: loadSluicePipeline });
  registerInit(program, (c) => { code = c; });
  registerTrackingVerbs(program, (c) => { code = c; });
  registerUi(program, (c) => { code = c; });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ParamsError) {
      process.stderr.write(`sluice: ${e.message}\nnothing was run.\n`);
      return 2;
    }
    if (e instanceof RunnerError || e instanceof ExecutorError || ['SluiceValidationError', 'TrackingError', 'MlflowError'].includes((e as Error).name)) {
      process.stderr.write(`sluice: ${(e as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`sluice: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}
