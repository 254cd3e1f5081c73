/**
 * The verbs of the `sluice` command, as a table: each verb's help line and the groups (modules)
 * that register it, loaded only when that verb runs. Start-up costs the same however many packages
 * add verbs: `sluice show` loads the read verbs and nothing of the engine, the compiler, the
 * triggers or the cluster client; `sluice --help` loads no verb module at all (its lines come from
 * this table; a test checks them against what the modules register).
 */
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import type { CompileCodeHash } from './compile-load.ts';

/** What a verb module gets from the CLI. */
export interface VerbContext {
  /** The command line after `sluice`. */
  readonly argv: readonly string[];
  /** The verb's exit code. */
  setCode(code: number): void;
}

/** Registers the commands of one group on the program. */
type Registrar = (program: Command, ctx: VerbContext) => void | Promise<void>;

const UI_PACKAGE = '@sluice/ui';
const CLUSTER_VERBS = ['submit', 'watch', 'terminate', 'resubmit', 'build'];

/** The modules that register verbs, each imported only when one of its verbs runs. */
export const GROUPS = {
  drive: async () => (await import('./drive.ts')).registerDrive,
  inspect: async () => {
    const { registerInspect } = await import('./inspect.ts');
    return (p, ctx) => registerInspect(p, ctx.setCode);
  },
  store: async () => {
    const { registerStoreVerbs } = await import('./store.ts');
    return (p, ctx) => registerStoreVerbs(p, ctx.setCode);
  },
  exec: async () => (p, ctx) => {
    p.command('exec').description('run one function step (the executor of local runs and Argo pods)').allowUnknownOption().helpOption(false).argument('[args...]')
      .action(async () => {
        const { execMain } = await import('@sluice/executor');
        ctx.setCode(await execMain(ctx.argv.slice(ctx.argv.indexOf('exec') + 1)));
      });
  },
  compile: async () => {
    const [{ registerCompile }, { checkPipelineFile }, { loadingUserModule }, { loadForCompile, prepareForCompile }, { locateStore }] = await Promise.all([import('./compile.ts'), import('./flags.ts'), import('../errors.ts'), import('./compile-load.ts'), import('../backend/location.ts')]);
    let code: Promise<CompileCodeHash> | undefined;
    return (p) => registerCompile(p, {
      prepare: prepareForCompile,
      loadPipeline: async (file, exportName, o) => {
        checkPipelineFile(file);
        const loaded = await loadingUserModule(file, () => loadForCompile(file, exportName, { store: locateStore().root, codeHash: o?.codeHash !== false }));
        code = loaded.code;
        return loaded.pipeline;
      },
      codeHash: () => code ?? Promise.resolve({ error: 'the pipeline was not loaded' }),
    });
  },
  init: async () => {
    const { registerInit } = await import('./init.ts');
    return (p, ctx) => registerInit(p, ctx.setCode);
  },
  triggers: async () => {
    const [{ registerTriggers }, { runPipeline }, { StateStore }, { locateStore }, { storeFlag }] = await Promise.all([import('@sluice/triggers/cli'), import('../run.ts'), import('../store/state.ts'), import('../backend/location.ts'), import('./flags.ts')]);
    return (p, ctx) => registerTriggers(p, { runPipeline, ensureStore: (db) => StateStore.open(db).close(), setCode: ctx.setCode, locateStore: (flag) => locateStore({ flag }).root, storeFlag });
  },
  tracking: async () => {
    const { registerTrackingVerbs } = await import('./tracking-verbs.ts');
    return (p, ctx) => registerTrackingVerbs(p, ctx.setCode);
  },
  // @sluice/ui is an optional dependency (named through a variable so that the runner's build does not compile it)
  ui: async () => {
    const m = (await import(UI_PACKAGE)) as { registerUi: (p: Command, setCode: (c: number) => void) => void };
    return (p, ctx) => m.registerUi(p, ctx.setCode);
  },
  // submit, watch, terminate, resubmit, build, and --cluster on runs/show/logs/stop/retry; the
  // Kubernetes client loads only when one of them talks to a cluster
  cluster: async () => {
    const { registerCluster } = await import('@sluice/cluster/cli');
    return async (p, ctx) => {
      const shows = ctx.argv.includes('--cluster') || CLUSTER_VERBS.includes(ctx.argv[0] === 'help' ? (ctx.argv[1] ?? '') : (ctx.argv[0] ?? ''));
      const view = shows ? await import('./view.ts') : undefined;
      registerCluster(p, {
        view: (json) => {
          if (!view) throw new Error('internal: the run view was not loaded for this verb');
          return new view.RunView(json ? 'json' : view.viewMode({}));
        },
        setCode: ctx.setCode,
      });
    };
  },
} satisfies Record<string, () => Promise<Registrar>>;

export type Group = keyof typeof GROUPS;

/** One verb: its line in `sluice --help` (`term`, `description`, as commander prints them) and the groups that register it. */
export interface Verb {
  readonly term: string;
  readonly description: string;
  /** The group that registers the verb first, then those that add options to it. */
  readonly groups: readonly Group[];
}

/** Every verb, in the order `sluice --help` lists them. */
export const VERBS: readonly Verb[] = [
  { term: 'run [options] <file>', description: 'run a pipeline on this machine', groups: ['drive', 'cluster'] },
  { term: 'resume [options] <run>', description: 'continue a run: only tasks that had not finished run again', groups: ['drive'] },
  { term: 'retry [options] <run>', description: 'run the failed and unfinished tasks of a failed or interrupted run again', groups: ['drive', 'cluster'] },
  { term: 'runs [options]', description: 'list runs, newest first', groups: ['inspect', 'cluster'] },
  { term: 'show [options] <run>', description: 'a run (id, unique prefix or latest): tasks, attempts, cache hits and misses, lineage', groups: ['inspect', 'cluster'] },
  { term: 'logs [options] <run> [task]', description: "a run's step logs, with a marker where each attempt starts", groups: ['inspect', 'cluster'] },
  { term: 'lineage [options] <artifact>', description: 'walk an artifact back to the tasks and inputs that produced it (sha256 prefix, store path, or <task>.<output> with --run)', groups: ['inspect'] },
  { term: 'stop [options] <run>', description: 'ask a running run to stop (steps get their grace period); sluice resume continues it', groups: ['inspect', 'cluster'] },
  { term: 'verify [options]', description: 'hash every stored artifact again; report (and with --remove, delete) the ones whose content changed', groups: ['store'] },
  { term: 'gc [options]', description: 'remove stored artifacts that no run, task or cache entry refers to', groups: ['store'] },
  { term: 'exec [args...]', description: 'run one function step (the executor of local runs and Argo pods)', groups: ['exec'] },
  { term: 'compile [options] <pipeline>', description: 'validate a pipeline and write its Argo manifest (Workflow by default), its IR, or a drawing of its DAG', groups: ['compile'] },
  { term: 'init [options] [dir]', description: 'write a new pipeline project into dir (default: the current directory)', groups: ['init'] },
  { term: 'triggers', description: 'continuous training: schedules, data arrival, upstream runs, drift and metric monitors', groups: ['triggers'] },
  { term: 'metrics [options] <run>', description: 'metrics a run logged (ctx.log.metric): last, min, max, steps and a sparkline', groups: ['tracking'] },
  { term: 'compare [options] <runs...>', description: 'two or more runs side by side: params, metrics, artifacts, code commit; differences marked', groups: ['tracking'] },
  { term: 'models [options] <action> [args...]', description: 'the model registry: list | show <name> | promote <name> <version> --alias <a> | rollback <name> --alias <a>', groups: ['tracking'] },
  { term: 'cat [options] <artifact>', description: 'print a text artifact: <run>/<task>/<output> or a content-hash prefix', groups: ['tracking'] },
  { term: 'tracking [options] <action>', description: 'tracking to MLflow: flush (send runs still pending) | status', groups: ['tracking'] },
  { term: 'ui [options]', description: 'a read-only web view of runs, DAGs, logs, artifacts, metrics and models (http://127.0.0.1)', groups: ['ui'] },
  { term: 'submit [options] <file>', description: 'run a pipeline on Kubernetes with Argo Workflows (bundled code on node:22-slim, or --image); also `sluice run --cluster`', groups: ['cluster'] },
  { term: 'watch [options] <run>', description: "follow a cluster run live, as local runs are shown; exit code = the run's", groups: ['cluster'] },
  { term: 'terminate [options] <run>', description: 'terminate a cluster run now: running steps are killed, no exit handler (spec.shutdown: Terminate)', groups: ['cluster'] },
  { term: 'resubmit [options] <run>', description: 'run a cluster run again as a new run; --memoized reuses its succeeded steps (argo resubmit)', groups: ['cluster'] },
  { term: 'build [options] <file>', description: "write a Dockerfile, .dockerignore and a pruned production install for an image that runs the pipeline's steps", groups: ['cluster'] },
];

/** A verb's name: the first word of its term. */
export const verbName = (v: Verb): string => v.term.split(' ')[0] as string;

/** Whether a group's package is installed (only `ui` is optional); resolving it loads nothing. */
export function groupAvailable(g: Group): boolean {
  if (g !== 'ui') return true;
  try {
    createRequire(import.meta.url).resolve(UI_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

/** The verb a command line runs (`sluice help <verb>` asks for that verb's help), or undefined. */
export function verbOf(argv: readonly string[]): string | undefined {
  const first = argv[0];
  if (first === undefined || first.startsWith('-')) return undefined;
  return first === 'help' ? argv[1] : first;
}

/**
 * Registers the groups `verb` needs (every group with `all`, as the check of this table does),
 * then a stub for every other verb: a name, arguments and a description for `--help` and for
 * commander's "unknown command" suggestions, nothing loaded.
 */
export async function registerVerbs(program: Command, verb: string | undefined, ctx: VerbContext, o: { all?: boolean } = {}): Promise<Map<Command, string>> {
  const want = o.all ? (Object.keys(GROUPS) as Group[]) : (VERBS.find((v) => verbName(v) === verb)?.groups ?? []);
  for (const g of [...new Set(want)].sort((a, b) => order(a) - order(b))) {
    if (!groupAvailable(g)) continue;
    await (await GROUPS[g]())(program, ctx);
  }
  const stubs = new Map<Command, string>();
  const have = new Set(program.commands.map((c) => c.name()));
  for (const v of VERBS) {
    if (have.has(verbName(v)) || !v.groups.every(groupAvailable)) continue;
    stubs.set(program.command(verbName(v)).description(v.description).allowUnknownOption().allowExcessArguments().helpOption(false), v.term);
  }
  return stubs;
}

/** Groups register in the table's order (a group that adds options to verbs comes after the one that defines them). */
function order(g: Group): number {
  return (Object.keys(GROUPS) as Group[]).indexOf(g);
}
