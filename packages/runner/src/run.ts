import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import type { JsonValue, PipelineIR, SluiceIssue } from '@sluice/sdk';
import { canonicalJson, effectiveTaskOptions, sha256 } from '@sluice/sdk/semantics';
import type { RunEvent } from './engine/engine.ts';
import { checkRunnable } from './engine/values.ts';
import { detectGpus, GpuPool, localGpus } from './engine/gpu.ts';
import type { Launcher } from './engine/launch.ts';
import { notifyReleased, semaphoreSizes } from './engine/locks.ts';
import type { ArtifactRef, LoadedPipeline, RuntimeValue } from './engine/types.ts';
import { cpSync, createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, statSync, type Stats } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { environmentProblem, loadingUserModule, ParamsError, RunnerError } from './errors.ts';
import type { TrackingFlags } from '@sluice/tracking';
import type { TrackingIngest } from './tracking.ts';
import { parseParamsFromIR } from './params.ts';
import { ArtifactStore } from './store/cas.ts';
import { groupAlive, stopGroup } from './store/procs.ts';
import { type RunStatus, StateStore, type TaskState } from './store/state.ts';
import { type Clock, systemClock } from './util/clock.ts';
import type { RunOptionsFor, RunResultFor } from './typed.ts';

export type { RunEvent } from './engine/engine.ts';

/** Options of {@link runPipeline}. */
export interface RunOptions {
  /** Pipeline parameters; missing ones take their defaults. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Parameters are command-line text, coerced by type. @default false */
  readonly paramsFromCli?: boolean;
  /** Where state and artifacts live. @default '.sluice' (in the working directory) */
  readonly storeDir?: string;
  /**
   * `process`: each function step runs in a child process through `sluice exec` (needs `entry`);
   * `inprocess`: in this process (tests, tiny steps). @default 'process' when `entry` is given, else 'inprocess'
   */
  readonly mode?: 'process' | 'inprocess';
  /**
   * In `process` mode, start a new process for every attempt (`sluice exec`, as an Argo pod does)
   * instead of running steps one at a time in warm worker processes that load the pipeline once.
   * Warm workers share module state between the steps they run; see the README. @default false
   */
  readonly freshProcesses?: boolean;
  /** The pipeline file, for child processes (they import it again) and for `sluice resume`. */
  readonly entry?: string;
  readonly exportName?: string;
  /** Steps running at once. @default the number of cores */
  readonly concurrency?: number;
  /** Continue this run instead of starting one: only tasks that had not finished run. */
  readonly resume?: string;
  /** Id of a new run. @default `<pipeline>-<timestamp>-<random>` */
  readonly runId?: string;
  /** Container components: `auto` (engine if one answers, else the host with a warning), `require`, `host`. @default 'auto' */
  readonly containers?: 'auto' | 'require' | 'host';
  /** Skip cache lookups. @default false */
  readonly noCache?: boolean;
  /** Tracking settings that override the environment and the pipeline's `tracking` option (`sluice run --tracking-*`). */
  readonly tracking?: TrackingFlags;
  /**
   * Local sizes of the semaphores tasks and runs take, by `<configMap>/<key>` (Argo reads them from
   * that config map key). @default from `SLUICE_SEMAPHORES` (`limits/trainers=2,limits/loaders=1`),
   * then `<storeDir>/semaphores.json`; a semaphore with no size has size 1 (with a warning)
   * @example { 'limits/trainers': 2 }
   */
  readonly semaphores?: Readonly<Record<string, number>>;
  /** GPU devices to hand out; @default detected (`SLUICE_GPUS`, then nvidia-smi) */
  readonly gpus?: readonly string[];
  /** Model names of `gpus` (as nvidia-smi prints them), to check `resources.gpu.type` against; detected with the GPUs when `gpus` is not given. */
  readonly gpuNames?: readonly string[];
  /** `full` also survives a power cut (fsync per commit). @default 'normal' */
  readonly durability?: 'normal' | 'full';
  /** Time a stopped step gets to save a checkpoint. @default 10000 */
  readonly graceMs?: number;
  readonly onEvent?: (e: RunEvent) => void;
  /** Abort to stop the run (running steps get their grace period); `sluice resume` continues it. */
  readonly signal?: AbortSignal;
  /** Injected time (tests). */
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Record git commit and dirtiness of this directory. @default dirname(entry) or the working directory */
  readonly gitDir?: string;
}

export interface TaskSummary {
  readonly state: TaskState;
  readonly attempts: number;
  readonly error?: string;
  readonly cachedFrom?: string;
}

/** What {@link runPipeline} returns. Artifact outputs carry their local `path`. */
export interface RunResult {
  readonly runId: string;
  readonly status: RunStatus;
  readonly tasks: { readonly [key: string]: TaskSummary };
  readonly outputs: { readonly [name: string]: RuntimeValue };
  readonly error?: string;
}

export function storePaths(storeDir = '.sluice'): { root: string; db: string; artifacts: string; runs: string } {
  const root = resolve(storeDir);
  return { root, db: join(root, 'state.db'), artifacts: join(root, 'artifacts'), runs: join(root, 'runs') };
}

/**
 * Git commit and dirtiness of `dir`, from one `git status` (the header line `# branch.oid <sha>`
 * and one line per changed tracked file). Started early and awaited before the run record is
 * written, so it overlaps loading the pipeline and opening the store.
 */
function gitInfo(dir: string): Promise<{ commit: string | null; dirty: boolean | null }> {
  return new Promise((resolve) => {
    try {
      execFile('git', ['status', '--porcelain=v2', '--branch', '--untracked-files=no'], { cwd: dir, encoding: 'utf8' }, (err, out) => {
        if (err) return resolve({ commit: null, dirty: null });
        const oid = /^# branch\.oid (\S+)$/m.exec(out)?.[1];
        resolve({ commit: oid && oid !== '(initial)' ? oid : null, dirty: out.split('\n').some((l) => l !== '' && !l.startsWith('#')) });
      });
    } catch {
      resolve({ commit: null, dirty: null });
    }
  });
}

function newRunId(name: string): string {
  const d = new Date();
  const ts = d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 40)}-${ts}-${randomBytes(2).toString('hex')}`;
}

/** Run ids become directory names in the store: letters, digits, `.`, `_` and `-`, not starting with a dot. */
export function checkRunId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id))
    throw new RunnerError('run.id', `invalid run id ${JSON.stringify(id)}: use letters, digits, '.', '_' and '-' (at most 128, starting with a letter or digit)`);
}

/** Artifact parameters name local files: each must exist (checked before the store is touched). */
function checkArtifactParams(ir: PipelineIR, params: Record<string, JsonValue>): void {
  for (const [name, spec] of Object.entries(ir.params)) {
    const v = params[name];
    if (spec.kind !== 'artifact' || typeof v !== 'string') continue;
    const problem = !existsSync(v) ? `no file or directory at ${JSON.stringify(v)}` : artifactSourceProblem(v);
    if (problem) throw new ParamsError([{ code: 'param.missing', path: `${ir.name}/params.${name}`, message: problem }]);
  }
}

/**
 * Why the file or directory at `path` cannot be a stored artifact, or undefined: an artifact is
 * regular files and directories (a link given as the parameter is followed; inside a directory a
 * link is refused, as the content hash refuses it). A device or a FIFO would be copied as nothing,
 * or block the copy for ever.
 */
function artifactSourceProblem(path: string): string | undefined {
  const kind = (st: Stats) => (st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file or a directory (a device, FIFO or socket)');
  const walk = (dir: string): string | undefined => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        const inner = walk(p);
        if (inner) return inner;
      } else if (!st.isFile()) return `${JSON.stringify(p)} (in ${JSON.stringify(path)}) is ${kind(st)}`;
    }
    return undefined;
  };
  const st = statSync(path);
  if (st.isDirectory()) return walk(path);
  return st.isFile() ? undefined : `${JSON.stringify(path)} is ${kind(st)}`;
}

export { ParamsError } from './errors.ts';

async function parseParams(loaded: LoadedPipeline, raw: Readonly<Record<string, unknown>>, fromCli: boolean): Promise<Record<string, JsonValue>> {
  let sdk: { parsePipelineParams?: (p: unknown, raw: Record<string, unknown>, o: { fromCli?: boolean }) => { ok: true; values: Record<string, JsonValue> } | { ok: false; issues: SluiceIssue[] } } | undefined;
  if (loaded.source !== undefined) sdk = (await import('@sluice/sdk')) as unknown as typeof sdk;
  const r = sdk?.parsePipelineParams && loaded.source !== undefined ? sdk.parsePipelineParams(loaded.source, { ...raw }, { fromCli }) : parseParamsFromIR(loaded.ir, raw, fromCli);
  if (!r.ok) throw new ParamsError(r.issues);
  return r.values;
}

/**
 * Takes the run's lease; while \`sluice gc\` sweeps the store (removing objects a run could reuse
 * by their hash), waits for it, said once as \`run.waiting\`. A stop asked for while waiting ends
 * the wait with an error (nothing of the run was written).
 */
async function takeLease(store: StateStore, runId: string, holder: string, clock: Clock, opts: Pick<RunOptions, 'onEvent' | 'signal'>): Promise<void> {
  let told = false;
  for (;;) {
    try {
      store.acquireLease(runId, holder, clock.now());
      return;
    } catch (e) {
      if (!(e instanceof RunnerError && e.code === 'store.sweeping')) throw e;
      if (!told) opts.onEvent?.({ type: 'run.waiting', time: clock.now(), runId, message: `${e.message}; the run starts when it ends` });
      told = true;
      if (opts.signal?.aborted) throw new RunnerError('run.stopped', `run ${runId} stopped while it waited for sluice gc; nothing of it was recorded`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Pipeline parameters that are artifacts are given as local paths: copy them into the artifact store. */
async function importArtifactParams(ir: PipelineIR, params: Record<string, JsonValue>, cas: ArtifactStore, dir: string): Promise<Record<string, JsonValue>> {
  const out = { ...params };
  for (const [name, spec] of Object.entries(ir.params)) {
    const v = params[name];
    if (spec.kind !== 'artifact' || typeof v !== 'string') continue;
    if (!existsSync(v)) throw new ParamsError([{ code: 'param.missing', path: `${ir.name}/params.${name}`, message: `no file or directory at ${JSON.stringify(v)}` }]);
    const staging = join(dir, name);
    mkdirSync(dir, { recursive: true });
    // a file is read to its end (a file of /proc says its size is 0 and holds more), a tree copied (checked above)
    if (statSync(v).isDirectory()) cpSync(v, staging, { recursive: true });
    else await pipeline(createReadStream(v), createWriteStream(staging, { flags: 'wx' }));
    const got = await cas.ingest(staging);
    const ref: ArtifactRef = { kind: 'artifact', type: spec.artifactType, hash: got.hash, path: got.path, uri: pathToFileURL(got.path).href, metadata: { source: resolve(v) } };
    out[name] = ref as unknown as JsonValue;
  }
  return out;
}

/** How many task rows a run of `ir` shows: tasks (nested pipelines' included), times the literal or parameter items of their loops. */
export function plannedTasks(ir: PipelineIR, params: { readonly [name: string]: JsonValue }): { n: number; exact: boolean } {
  let exact = true;
  const count = (nodes: readonly PipelineIR['dag'][number][], top: boolean): number => {
    let n = 0;
    for (const node of nodes) {
      if (node.kind === 'task') {
        const c = ir.components[node.component];
        n += c?.kind === 'pipeline' ? count(c.dag, false) : 1;
      } else if (node.kind === 'condition') n += count(node.then, top) + count(node.else, top);
      else if (node.kind === 'loop') {
        let list: unknown = node.items.kind === 'literal' ? node.items.value : node.items.kind === 'param' && top ? params[node.items.name] : undefined;
        if (typeof list === 'string') {
          try { list = JSON.parse(list); } catch { list = undefined; }
        }
        if (Array.isArray(list)) n += list.length * count(node.body, top);
        else exact = false;
      }
    }
    return n;
  };
  const n = count(ir.dag, true) + (ir.exitHandler ? 1 : 0);
  return { n, exact };
}

/**
 * Refuses the run before anything starts when a task that surely runs asks for more GPUs than the
 * machine has. Tasks in a condition's branches or in a loop whose items are only known at run time
 * may never run: they are checked when they are about to launch (the engine fails that task with
 * the same message).
 */
function checkGpus(ir: PipelineIR, pool: GpuPool, params: { readonly [name: string]: JsonValue }): void {
  const walk = (nodes: readonly PipelineIR['dag'][number][], top: boolean) => {
    for (const n of nodes) {
      if (n.kind === 'task') {
        const c = ir.components[n.component];
        const gpu = effectiveTaskOptions(ir.options, c, n).resources?.gpu;
        if (gpu) localGpus(pool, gpu, `task ${n.id}`); // throws unless it fits or falls back to CPU
        if (c?.kind === 'pipeline') walk(c.dag, false);
      } else if (n.kind === 'loop') {
        // pipeline parameters are known now; inside a nested pipeline a `param` is one of its inputs
        const items = n.items.kind === 'literal' ? n.items.value : n.items.kind === 'param' && top ? params[n.items.name] : undefined;
        let list: unknown = items;
        if (typeof items === 'string') {
          try { list = JSON.parse(items); } catch { list = undefined; }
        }
        if (Array.isArray(list) && list.length) walk(n.body, top);
      }
    }
  };
  walk(ir.dag, true);
  if (ir.exitHandler) walk([ir.exitHandler], true);
}

/**
 * Runs a pipeline on this machine with durable state under `storeDir`, and returns when it ends.
 * Accepts a Sluice pipeline, its IR with runnable components (`{ ir, runtimes }`), or bare IR.
 *
 * @example
 * const r = await runPipeline(irisPipeline, { params: { lr: 0.1 }, mode: 'inprocess' });
 * if (r.status === 'succeeded') console.log(r.outputs.model);
 */
export function runPipeline<T>(pipeline: T, opts?: RunOptionsFor<T>): Promise<RunResultFor<T>>;
export async function runPipeline(pipeline: unknown, opts: RunOptions = {}): Promise<RunResult> {
  const git = opts.resume ? undefined : gitInfo(opts.gitDir ?? (opts.entry ? dirname(resolve(opts.entry)) : process.cwd()));
  // the code part of the cache key: the module-graph hash, the one compile and submit put in memoize
  // keys (in parallel with loading, whose build it shares; kept with the loader's built modules, and
  // for a graph loaded through tsx, a full bundle's, in the store's code-hash cache)
  const codeFile = typeof pipeline === 'string' ? pipeline : opts.entry;
  const codeCache = join(storePaths(opts.storeDir).root, 'code-hashes.json');
  const code = codeFile ? import('@sluice/bundle').then((b) => b.pipelineCodeHash(codeFile, opts.exportName, { cacheFile: codeCache })) : undefined;
  // the engine, the step launchers, the executor and tracking load here, not with the module: the
  // CLI's read verbs import this module (through the local backend) and never run anything
  const [{ Engine }, { ContainerLauncher, InProcessLauncher, ProcessLauncher }, { loadPipelineFile, toLoadedPipeline }, { targetEnv }, { preflightTracking, runTracking, syncAfterRun, TrackingIngest }] = await Promise.all([
    import('./engine/engine.ts'), import('./engine/launch.ts'), import('@sluice/executor'), import('@sluice/tracking'), import('./tracking.ts'),
  ]);
  // In process mode the steps load the entry file themselves; load it the same way here so that
  // the IR (and its code hashes) is the one the steps will see.
  const loaded = typeof pipeline === 'string' ? await loadingUserModule(pipeline, () => loadPipelineFile(pipeline, opts.exportName))
    : (opts.mode ?? (opts.entry ? 'process' : 'inprocess')) === 'process' && opts.entry ? await loadingUserModule(opts.entry, () => loadPipelineFile(opts.entry as string, opts.exportName))
    : await toLoadedPipeline(pipeline, 'the pipeline');
  const ir = loaded.ir;
  checkRunnable(ir);
  const clock = opts.clock ?? systemClock;
  const paths = storePaths(opts.storeDir);
  // a bad tracking URI is refused before anything runs (flag > environment > pipeline option)
  const tracking = runTracking(ir, opts.tracking);
  if (opts.runId !== undefined && !opts.resume) checkRunId(opts.runId);
  if (opts.concurrency !== undefined && !(Number.isInteger(opts.concurrency) && opts.concurrency >= 1)) throw new RunnerError('run.concurrency', `concurrency must be a whole number of at least 1, got ${opts.concurrency}`);
  if (opts.graceMs !== undefined && !(Number.isFinite(opts.graceMs) && opts.graceMs >= 0)) throw new RunnerError('run.grace', `graceMs must be 0 or more, got ${opts.graceMs}`);
  // parameters are checked before anything is written: bad input leaves no store behind
  const early = opts.resume ? undefined : await parseParams(loaded, opts.params ?? {}, !!opts.paramsFromCli);
  if (early) checkArtifactParams(ir, early);
  // required tracking: a server that does not answer refuses the run before the store is touched
  await preflightTracking(tracking);
  let store: StateStore;
  try {
    store = StateStore.open(paths.db, { durability: opts.durability ?? 'normal' });
  } catch (e) {
    const problem = e instanceof RunnerError ? undefined : environmentProblem(e, paths.root);
    if (problem) throw new RunnerError('store.write', `cannot open the state store ${paths.db}: ${problem}`);
    throw e;
  }
  const holder = `${process.pid}-${randomBytes(4).toString('hex')}`;
  let runId: string | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let functions: Launcher | undefined;
  let released = false;
  let heartbeatError: string | undefined;
  // stops the run when the store cannot be written any more (the heartbeat failed)
  const halt = new AbortController();
  let ingest: TrackingIngest | undefined;
  try {
    const irText = canonicalJson(ir);
    const hash = sha256(irText).slice(0, 16);
    const detected = opts.gpus ? undefined : detectGpus();
    const pool = new GpuPool(opts.gpus ?? detected!.map((g) => g.index), opts.gpuNames ?? detected?.map((g) => g.name));
    const semaphores = semaphoreSizes(paths.root, process.env, opts.semaphores);
    let params: Record<string, JsonValue>;
    let entry = opts.entry;
    let exportName = opts.exportName;
    if (opts.resume) {
      const row = store.findRun(opts.resume);
      runId = row.id;
      if (row.ir_hash !== hash)
        throw new RunnerError('resume.changed', `the pipeline changed since run ${row.id} started (IR ${row.ir_hash} then, ${hash} now); resume needs the same pipeline, or start a new run (the cache reuses finished steps)`);
      params = JSON.parse(row.params) as Record<string, JsonValue>;
      entry ??= row.entry ?? undefined;
      exportName ??= row.export_name ?? undefined;
      await takeLease(store, runId, holder, clock, opts);
      // steps of the runner that died may still run (its watchdog stops them within its grace
      // period): nothing of them may overlap the new attempts, in their checkpoints or locks
      for (const p of store.taskProcesses(runId)) {
        if (!groupAlive(p.pid, p.pid_start)) continue;
        opts.onEvent?.({ type: 'warning', time: clock.now(), runId, key: p.key, message: `task ${p.key}: its process group ${p.pid} from the interrupted run is still running; stopping it before the task runs again` });
        if (!(await stopGroup(p.pid, p.pid_start, opts.graceMs ?? 10_000)))
          throw new RunnerError('resume.orphan', `task ${p.key}: process group ${p.pid} of the interrupted run does not end; stop it (kill -KILL -${p.pid}), then resume again`);
      }
      store.setRunStatus(runId, 'running', clock.now());
    } else {
      params = early as Record<string, JsonValue>;
      checkGpus(ir, pool, params);
      runId = opts.runId ?? newRunId(ir.name);
      if (store.getRun(runId)) throw new RunnerError('run.exists', `a run with id ${runId} already exists in ${paths.root}; choose another --run-id, or continue it with \`sluice resume ${runId}\``);
      // the lease before anything is stored: \`sluice gc\` removes nothing while a run holds one
      await takeLease(store, runId, holder, clock, opts);
      params = await importArtifactParams(ir, params, new ArtifactStore(paths.artifacts), join(paths.runs, runId, 'inputs'));
      const { commit, dirty } = (await git) ?? { commit: null, dirty: null };
      store.db.transaction(() => {
        store.createRun({
          id: runId as string, pipeline: ir.name, irHash: hash, ir: irText, params: JSON.stringify(params),
          entry: opts.entry ? relative(process.cwd(), resolve(opts.entry)) || opts.entry : null, exportName: opts.exportName ?? null,
          mode: opts.mode ?? (opts.entry ? 'process' : 'inprocess'), gitCommit: commit, gitDirty: dirty, now: clock.now(),
        });
      })();
    }
    const id = runId;
    store.onFailure = (e) => {
      heartbeatError ??= `the state store could not be written: ${environmentProblem(e, paths.root) ?? (e as Error).message}`;
      halt.abort('preempted');
    };
    heartbeat = setInterval(() => {
      // a busy store (another process writing) only delays a heartbeat; the lease is stale after 30 s
      try {
        store.heartbeat(id, holder, Date.now());
      } catch (e) {
        const problem = environmentProblem(e, paths.root);
        if ((e as { code?: string }).code === 'SQLITE_BUSY' || (e as { code?: string }).code === 'SQLITE_LOCKED') return;
        heartbeatError ??= `the run's heartbeat could not be written: ${problem ?? (e as Error).message}`;
        halt.abort('preempted');
      }
    }, 5000);
    heartbeat.unref();
    const mode = opts.mode ?? (entry ? 'process' : 'inprocess');
    if (mode === 'process' && !entry) throw new RunnerError('run.noEntry', 'mode "process" needs the pipeline file (`entry`) so that child processes can load it');
    const graceMs = opts.graceMs ?? 10_000;
    // warnings are kept with the run (`sluice show` lists them), in the commit of what comes next
    const emit = (e: RunEvent) => {
      if (e.type === 'warning') store.enqueue(() => store.recordWarning(id, { key: e.key, time: e.time, message: e.message }));
      opts.onEvent?.(e);
    };
    functions = mode === 'process' ? new ProcessLauncher({ entry: resolve(entry as string), exportName, graceMs, fresh: !!opts.freshProcesses }) : new InProcessLauncher(loaded.runtimes);
    const containers = new ContainerLauncher(opts.containers ?? 'auto', (message) => emit({ type: 'warning', time: clock.now(), runId: id, message }), graceMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, halt.signal]) : halt.signal;
    const planned = plannedTasks(ir, params);
    emit({ type: opts.resume ? 'run.resumed' : 'run.started', time: clock.now(), runId: id, pipeline: ir.name, planned: planned.n, plannedExact: planned.exact });
    const codeHash = await code;
    if (codeHash && 'save' in codeHash) {
      try { codeHash.save?.(); } catch { /* not kept: the next run bundles again */ }
    }
    if (codeHash && 'error' in codeHash) emit({ type: 'warning', time: clock.now(), runId: id, message: `cache keys cover only each step's run() source: ${codeHash.error}` });
    const row = store.getRun(id);
    ingest = new TrackingIngest(paths.root);
    const tracked = ingest;
    const engine = new Engine({
      store, cas: new ArtifactStore(paths.artifacts), runDir: join(paths.runs, id), runId: id, loaded, params,
      functions, containers, concurrency: opts.concurrency ?? cpus().length, gpus: pool, clock, emit, signal, holder, semaphores,
      ...(opts.random ? { random: opts.random } : {}), ...(opts.noCache ? { noCache: true } : {}),
      ...(ir.options.deadlineSeconds !== undefined ? { deadlineMs: ir.options.deadlineSeconds * 1000 } : {}),
      ...(codeHash && 'hash' in codeHash ? { codeHash: codeHash.hash } : {}),
      stepEnv: {
        SLUICE_STORE: paths.root, SLUICE_PIPELINE: ir.name, ...targetEnv(tracking),
        ...(row?.git_commit ? { SLUICE_GIT_COMMIT: row.git_commit } : {}), ...(row?.git_dirty !== null && row?.git_dirty !== undefined ? { SLUICE_GIT_DIRTY: String(row.git_dirty) } : {}),
      },
      onAttempt: async (a) => {
        await tracked.attempt(id, a.key, a.attempt, a.outputsDir);
      },
    });
    const ran = await engine.run();
    const result = heartbeatError ? { ...ran, status: 'failed' as const, error: heartbeatError } : ran;
    // the last writes, the run's status, the release of its locks and of the lease: one commit
    store.enqueue(() => {
      store.setRunStatus(id, result.status, clock.now(), JSON.stringify(result.outputs), result.error ?? null);
      store.releaseHolderLocks(holder);
      store.releaseLease(id, holder);
    }, 'run');
    store.flushNow();
    if (store.failure) throw store.failure;
    released = true;
    notifyReleased(store.file);
    ingest.close();
    const trackingWarning = await syncAfterRun(paths.root, store, id, tracking, (h) => new ArtifactStore(paths.artifacts).pathOf(h));
    if (trackingWarning) {
      emit({ type: 'warning', time: clock.now(), runId: id, message: trackingWarning });
      try { store.flushNow(); } catch { /* the run is recorded; only its warning is lost */ }
    }
    emit({ type: 'run.finished', time: clock.now(), runId: id, status: result.status, ...(result.error ? { message: result.error } : {}), outputs: result.outputs });
    const tasks: Record<string, TaskSummary> = {};
    for (const t of store.taskSummaries(id)) {
      tasks[t.key] = { state: t.state, attempts: t.attempts, ...(t.error ? { error: t.error } : {}), ...(t.cached_from ? { cachedFrom: t.cached_from } : {}) };
    }
    return { runId: id, status: result.status, tasks, outputs: result.outputs, ...(result.error ? { error: result.error } : {}) };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw new RunnerError('store.locked', `state store ${paths.db} is locked by another process (${(e as Error).message}); try again when it is done`);
    const problem = environmentProblem(e, paths.root);
    if (problem && !(e instanceof RunnerError))
      throw new RunnerError('store.write', `${runId ? `run ${runId}: ` : ''}${heartbeatError ?? problem}${runId ? '; the run could not be recorded as ended (`sluice show` reports its driver gone)' : ''}`);
    throw e;
  } finally {
    ingest?.close();
    functions?.close?.();
    if (heartbeat) clearInterval(heartbeat);
    if (runId && store.db.open && !released) {
      try {
        store.db.transaction(() => {
          store.releaseHolderLocks(holder);
          store.releaseLease(runId as string, holder);
        })();
        notifyReleased(store.file);
      } catch { /* closing anyway */ }
    }
    store.close();
  }
}
