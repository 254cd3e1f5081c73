import { statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { ComponentIR, ConditionIR, JsonValue, LoopIR, NodeIR, PipelineComponentIR, SynchronizationIR, TaskIR, TaskOptionsIR, ValueIR } from '@sluice/sdk';
import { cachePolicy, durationString, effectiveTaskOptions } from '@sluice/sdk';
import type { ArtifactStore } from '../store/cas.ts';
import type { AttemptOutcome, Consumption, StateStore, TaskRow, TaskState } from '../store/state.ts';
import type { Clock } from '../util/clock.ts';
import { crashPoint } from '@sluice/executor/crash';
import { processStart } from '../store/procs.ts';
import { cacheKey, type CacheParts, cacheParts, lookupCache } from './cache.ts';
import { type GpuPool, localGpus, Semaphore } from './gpu.ts';
import type { AttemptRequest, AttemptResult, Launcher } from './launch.ts';
import { describeLock, notifyReleased, type SemaphoreSizes, unsizedWarning, waitForRelease, wantedLocks } from './locks.ts';
import { backoffMs, type FailureKind, shouldRetry } from './retry.ts';
import { type ArtifactRef, isArtifactRef, type LoadedPipeline, type RuntimeValue } from './types.ts';
import type { RunEvent } from '../backend/events.ts';
import { markAttempt } from '../query/logs.ts';
import { type DagInfo, dagInfo, evalPredicate, nodeDeps, walkPath } from './values.ts';

export type Outcome = 'succeeded' | 'skipped' | 'failed' | 'omitted';

/** What the engine reports as it goes: the run events of the backend contract (rendered by the CLI as a live view, lines or JSON). */
export type { RunEvent } from '../backend/events.ts';

export interface EngineOptions {
  readonly store: StateStore;
  readonly cas: ArtifactStore;
  readonly runDir: string;
  readonly runId: string;
  readonly loaded: LoadedPipeline;
  readonly params: { readonly [name: string]: JsonValue };
  readonly functions: Launcher;
  readonly containers: Launcher;
  readonly concurrency: number;
  readonly gpus: GpuPool;
  readonly clock: Clock;
  readonly random?: () => number;
  readonly emit: (e: RunEvent) => void;
  /** Ignore the cache for lookups (results are still recorded). */
  readonly noCache?: boolean;
  /** Stops the run: running steps are asked to stop (grace period) and nothing new starts. */
  readonly signal: AbortSignal;
  /**
   * The pipeline's `deadline` (Argo's `activeDeadlineSeconds`), counted from the start of this
   * drive: when it passes, running steps are stopped (grace period), nothing new starts, the exit
   * handler still runs, and the run fails.
   */
  readonly deadlineMs?: number;
  /** Who holds this run's lease; its locks are held under the same name. */
  readonly holder: string;
  /** Semaphore sizes by `<configMap>/<key>`; a semaphore without one has size 1 (with a warning). */
  readonly semaphores: SemaphoreSizes;
  /** Longest wait between two looks at a lock held by another process. @default 500 */
  readonly lockPollMs?: number;
  /** Hash of the pipeline's bundle: the code part of function steps' cache keys (see cache.ts). */
  readonly codeHash?: string;
  /** Environment every step gets before its task's own `env` (the store, git commit and pipeline name, for tracking). */
  readonly stepEnv?: { readonly [name: string]: string };
  /** Called after each attempt, before its outcome is recorded (tracking ingests the step's events here). */
  readonly onAttempt?: (a: { readonly key: string; readonly attempt: number; readonly outputsDir: string }) => Promise<void>;
}

interface Scope {
  readonly base: string;
  readonly dag: DagInfo;
  readonly params: { readonly [name: string]: RuntimeValue };
  readonly items: ReadonlyMap<string, { readonly index: number; readonly value: JsonValue }>;
  readonly status?: string;
}

type Branch = 'then' | 'else' | 'skipped' | 'omitted';
interface Gate { readonly decided: Promise<Branch>; readonly branch: 'then' | 'else' }

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

class TaskFailure extends Error {}

/** Safe directory name for a task instance key (`loop[2]/train` → `loop[2]~train`). */
export function keyDir(key: string): string {
  return key.replace(/\//g, '~');
}

/**
 * Drives one run of a pipeline: walks the DAG, starts each node when its dependencies are done,
 * and commits every state change to the state store before anything depends on it. Tasks already
 * finished in this run (a resume) are not run again. Scheduling follows Argo's DAG semantics:
 * a failed or omitted dependency omits its dependents, a skipped one does not; after a failure no
 * new node starts (failFast); the exit handler runs last, whatever happened.
 */
export class Engine {
  private readonly o: EngineOptions;
  private readonly done = new Map<string, Promise<Outcome>>();
  private readonly results = new Map<string, { readonly [name: string]: RuntimeValue }>();
  private readonly loopCounts = new Map<string, number>();
  private readonly slots: Semaphore;
  private readonly prior: Map<string, TaskRow>;
  private readonly cacheKeys: Set<string>;
  private failFast = false;
  private interrupted = false;
  /** The pipeline's deadline passed: steps of the DAG are stopped and fail; the exit handler runs. */
  private deadlineHit = false;
  private exitPhase = false;
  private readonly deadline = new AbortController();
  /** What stops a step of the DAG: the runner being stopped, or the pipeline's deadline. */
  private readonly stepSignal: AbortSignal;
  private readonly unsized = new Set<string>();
  /** Lineage: the task output each artifact value came from, by object identity (never by content hash). */
  private readonly producers = new WeakMap<object, { readonly run: string; readonly task: string; readonly output: string }>();
  readonly states = new Map<string, TaskState>();

  constructor(o: EngineOptions) {
    this.o = o;
    this.slots = new Semaphore(o.concurrency);
    this.prior = new Map(o.store.tasksOfRun(o.runId).map((t) => [t.key, t]));
    // Known cache keys, read once: a miss costs no query. Entries other runs add meanwhile are not seen.
    this.cacheKeys = o.noCache ? new Set() : o.store.cacheKeys();
    o.signal.addEventListener('abort', () => (this.interrupted = true), { once: true });
    this.stepSignal = AbortSignal.any([o.signal, this.deadline.signal]);
  }

  /** The deadline passed and the DAG is still running (the exit handler is never cut short by it). */
  private get pastDeadline(): boolean {
    return this.deadlineHit && !this.exitPhase;
  }

  /** The message of a run (and its stopped steps) whose deadline passed. */
  private deadlineMessage(): string {
    return `the pipeline's deadline of ${durationString((this.o.deadlineMs ?? 0) / 1000)} passed (deadline, Argo's activeDeadlineSeconds)`;
  }

  /** Runs the DAG then the exit handler; returns the run's outcome and resolved outputs. */
  async run(): Promise<{ status: 'succeeded' | 'failed' | 'interrupted'; outputs: { [name: string]: RuntimeValue }; error?: string }> {
    const ir = this.o.loaded.ir;
    const root: Scope = { base: '', dag: dagInfo(ir.dag, ir.exitHandler ? [ir.exitHandler] : []), params: this.o.params, items: new Map() };
    // the run's own mutexes and semaphores, held until its final commit (run.ts releases them)
    if ((await this.takeLocks('', ir.options.synchronization)) === 'stopped') return { status: 'interrupted', outputs: {}, error: 'the runner was stopped while the run waited for its locks' };
    const timer = this.o.deadlineMs !== undefined ? setTimeout(() => {
      this.deadlineHit = true;
      this.failFast = true;
      this.o.emit({ type: 'warning', time: this.o.clock.now(), runId: this.o.runId, message: `${this.deadlineMessage()}: running steps are stopped, nothing new starts` });
      this.deadline.abort('deadline');
    }, this.o.deadlineMs) : undefined;
    let outcomes: Outcome[];
    try {
      outcomes = await Promise.all(this.register(ir.dag, root, undefined));
    } finally {
      clearTimeout(timer);
    }
    let failed = this.deadlineHit || outcomes.some((x) => x === 'failed' || x === 'omitted');
    this.exitPhase = true;
    if (ir.exitHandler && !this.interrupted) {
      const exitScope: Scope = { ...root, status: failed ? 'Failed' : 'Succeeded' };
      const wasFailFast = this.failFast;
      this.failFast = false; // the exit handler runs whatever happened
      const key = ir.exitHandler.id;
      const p = this.taskNode(ir.exitHandler, exitScope, key, undefined, true);
      this.done.set(key, p);
      if ((await p) === 'failed') failed = true;
      this.failFast = wasFailFast || failed;
    }
    await this.o.store.flush();
    if (this.interrupted) return { status: 'interrupted', outputs: {}, error: 'the runner was stopped' };
    if (this.deadlineHit) return { status: 'failed', outputs: {}, error: this.deadlineMessage() };
    const outputs: { [name: string]: RuntimeValue } = {};
    for (const [name, v] of Object.entries(ir.outputValues)) {
      try {
        outputs[name] = this.value(v, root, `${ir.name}/outputs.${name}`);
      } catch (e) {
        if (!failed) return { status: 'failed', outputs, error: (e as Error).message };
      }
    }
    return failed ? { status: 'failed', outputs, error: this.firstError() } : { status: 'succeeded', outputs };
  }

  private firstError(): string {
    this.o.store.flushNow();
    const failed = this.o.store.tasksOfRun(this.o.runId).filter((t) => t.state === 'failed');
    return failed.map((t) => `${t.key}: ${t.error ?? 'failed'}`).join('\n') || 'a task failed';
  }

  // ---- keys and values -------------------------------------------------------------------

  /** The instance key of node `id` seen from `scope`: through the loop iterations `scope` is in, or the loop itself. */
  private keyFor(id: string, scope: Scope): string {
    const loops = scope.dag.loopsOf.get(id);
    if (!loops) throw new TaskFailure(`unknown node "${id}"`);
    let acc = scope.base;
    for (const l of loops) {
      const it = scope.items.get(l);
      if (!it) return acc + l;
      acc += `${l}[${it.index}]/`;
    }
    return acc + id;
  }

  private value(v: ValueIR, scope: Scope, path: string): RuntimeValue {
    switch (v.kind) {
      case 'literal': return v.value;
      case 'param': {
        if (!(v.name in scope.params)) throw new TaskFailure(`${path}: no parameter "${v.name}"`);
        return scope.params[v.name] as RuntimeValue;
      }
      case 'output': {
        const key = this.keyFor(v.task, scope);
        const r = this.results.get(key);
        if (!r) throw new TaskFailure(`${path}: task ${key} did not run (${this.states.get(key) ?? 'not started'}), so its output "${v.output}" has no value`);
        if (!(v.output in r)) throw new TaskFailure(`${path}: task ${key} has no output "${v.output}"`);
        return r[v.output] as RuntimeValue;
      }
      case 'item': {
        const it = scope.items.get(v.loop);
        if (!it) throw new TaskFailure(`${path}: not inside loop ${v.loop}`);
        return walkPath(it.value, v.path, path);
      }
      case 'collect': {
        const loopKey = this.keyFor(v.loop, scope);
        const loops = scope.dag.loopsOf.get(v.task) ?? [];
        const inner = loops.slice(loops.indexOf(v.loop));
        const out: RuntimeValue[] = [];
        const gather = (prefix: string, rest: readonly string[]) => {
          const [l, ...more] = rest;
          if (l === undefined) {
            const r = this.results.get(prefix + v.task);
            if (r && v.output in r) out.push(r[v.output] as RuntimeValue);
            return;
          }
          const n = this.loopCounts.get(prefix + l) ?? 0;
          for (let i = 0; i < n; i++) gather(`${prefix}${l}[${i}]/`, more);
        };
        gather(loopKey.slice(0, loopKey.length - v.loop.length), inner);
        return out as RuntimeValue;
      }
      case 'oneOf': {
        for (const opt of v.options) {
          const r = this.results.get(this.keyFor(opt.task, scope));
          if (r && opt.output in r) return r[opt.output] as RuntimeValue;
        }
        throw new TaskFailure(`${path}: no branch of condition ${v.condition} produced a value`);
      }
      case 'status': {
        if (scope.status === undefined) throw new TaskFailure(`${path}: the run status is only available to the exit handler`);
        return scope.status;
      }
    }
  }

  // ---- scheduling ------------------------------------------------------------------------

  private register(nodes: readonly NodeIR[], scope: Scope, gate: Gate | undefined): Promise<Outcome>[] {
    const ps: Promise<Outcome>[] = [];
    for (const n of nodes) {
      const key = this.keyFor(n.id, scope);
      let p: Promise<Outcome>;
      if (n.kind === 'condition') {
        const d = deferred<Branch>();
        const thenPs = this.register(n.then, scope, { decided: d.promise, branch: 'then' });
        const elsePs = this.register(n.else, scope, { decided: d.promise, branch: 'else' });
        p = this.conditionNode(n, scope, key, gate, d.resolve, thenPs, elsePs);
      } else if (n.kind === 'loop') p = this.loopNode(n, scope, key, gate);
      else p = this.taskNode(n, scope, key, gate, false);
      this.done.set(key, p);
      ps.push(p);
    }
    return ps;
  }

  /** Waits for the gate and dependencies; says whether the node may run. */
  private async ready(n: NodeIR, scope: Scope, gate: Gate | undefined): Promise<Outcome | 'go'> {
    await null; // let the whole scope register before looking dependencies up
    if (gate) {
      const b = await gate.decided;
      if (b === 'omitted') return 'omitted';
      if (b !== gate.branch) return 'skipped';
    }
    const deps = nodeDeps(n);
    if (deps.length) {
      const waits: Promise<Outcome>[] = [];
      for (const d of deps) {
        const p = this.done.get(this.keyFor(d, scope));
        if (!p) throw new TaskFailure(`${n.id} depends on ${d}, which is not part of this pipeline scope`);
        waits.push(p);
      }
      const outs = await Promise.all(waits);
      if (outs.some((x) => x === 'failed' || x === 'omitted')) return 'omitted';
    }
    if (this.failFast || this.interrupted) return 'omitted';
    return 'go';
  }

  private note(key: string, n: NodeIR, state: TaskState, component = '', extra: { outputs?: string; error?: string } = {}): void {
    this.states.set(key, state);
    const prev = this.prior.get(key);
    if (prev && prev.state === state && state !== 'failed') return;
    const rec = { runId: this.o.runId, key, taskId: n.id, component, state, now: this.o.clock.now(), outputs: extra.outputs ?? null, error: extra.error ?? null };
    this.o.store.enqueue(() => this.o.store.recordTask(rec), `${state}:${key}`);
    if (state === 'skipped' || state === 'omitted') this.o.emit({ type: state === 'skipped' ? 'task.skipped' : 'task.omitted', time: this.o.clock.now(), runId: this.o.runId, key });
  }

  private async conditionNode(n: ConditionIR, scope: Scope, key: string, gate: Gate | undefined, decide: (b: Branch) => void, thenPs: Promise<Outcome>[], elsePs: Promise<Outcome>[]): Promise<Outcome> {
    let r: Outcome | 'go';
    try {
      r = await this.ready(n, scope, gate);
    } catch (e) {
      decide('omitted');
      return this.failNode(key, n, (e as Error).message);
    }
    if (r !== 'go') {
      decide(r === 'skipped' ? 'skipped' : 'omitted');
      await Promise.all([...thenPs, ...elsePs]);
      this.note(key, n, r);
      return r;
    }
    let branch: 'then' | 'else';
    try {
      branch = evalPredicate(n.predicate, (v) => this.value(v, scope, `${key}/predicate`)) ? 'then' : 'else';
    } catch (e) {
      decide('omitted');
      await Promise.all([...thenPs, ...elsePs]);
      return this.failNode(key, n, (e as Error).message);
    }
    decide(branch);
    this.o.emit({ type: 'condition.decided', time: this.o.clock.now(), runId: this.o.runId, key, message: branch });
    const outs = await Promise.all(branch === 'then' ? thenPs : elsePs);
    await Promise.all(branch === 'then' ? elsePs : thenPs);
    const bad = outs.some((x) => x === 'failed' || x === 'omitted');
    this.note(key, n, bad ? 'failed' : 'succeeded', '', { outputs: JSON.stringify({ branch }), ...(bad ? { error: 'a task in the branch failed' } : {}) });
    return bad ? 'failed' : 'succeeded';
  }

  private failNode(key: string, n: NodeIR, message: string): Outcome {
    this.failFast = true;
    this.note(key, n, 'failed', n.kind === 'task' ? n.component : '', { error: message });
    this.o.emit({ type: 'task.failed', time: this.o.clock.now(), runId: this.o.runId, key, message });
    return 'failed';
  }

  private async loopNode(n: LoopIR, scope: Scope, key: string, gate: Gate | undefined): Promise<Outcome> {
    let items: RuntimeValue;
    try {
      const r = await this.ready(n, scope, gate);
      if (r !== 'go') {
        this.note(key, n, r);
        return r;
      }
      items = this.value(n.items, scope, `${key}/items`);
      if (typeof items === 'string') {
        try { items = JSON.parse(items) as JsonValue; } catch { /* reported below */ }
      }
      if (!Array.isArray(items)) throw new TaskFailure(`${key}/items: expected a list to loop over, got ${JSON.stringify(items)}`);
    } catch (e) {
      return this.failNode(key, n, (e as Error).message);
    }
    const list = items as readonly JsonValue[];
    this.loopCounts.set(key, list.length);
    const sem = n.parallelism ? new Semaphore(n.parallelism) : undefined;
    const iteration = async (i: number): Promise<Outcome[]> => {
      if (sem) await sem.acquire();
      try {
        const items = new Map(scope.items);
        items.set(n.id, { index: i, value: list[i] as JsonValue });
        return await Promise.all(this.register(n.body, { ...scope, items }, undefined));
      } finally {
        sem?.release();
      }
    };
    const outs = (await Promise.all(list.map((_, i) => iteration(i)))).flat();
    const bad = outs.some((x) => x === 'failed' || x === 'omitted');
    this.note(key, n, bad ? 'failed' : 'succeeded', '', { outputs: JSON.stringify({ iterations: list.length }), ...(bad ? { error: 'an iteration failed' } : {}) });
    return bad ? 'failed' : 'succeeded';
  }

  private options(t: TaskIR, c: ComponentIR): TaskOptionsIR {
    return effectiveTaskOptions(this.o.loaded.ir.options, c, t);
  }

  private async taskNode(t: TaskIR, scope: Scope, key: string, gate: Gate | undefined, isExit: boolean): Promise<Outcome> {
    const comp = this.o.loaded.ir.components[t.component];
    try {
      const r = isExit ? 'go' : await this.ready(t, scope, gate);
      if (r !== 'go') {
        this.note(key, t, r, t.component);
        return r;
      }
      if (!comp) throw new TaskFailure(`${key}: unknown component ${t.component}`);
      const inputs: Record<string, RuntimeValue> = {};
      for (const [name, v] of Object.entries(t.inputs)) inputs[name] = this.value(v, scope, `${key}/inputs.${name}`);
      for (const [name, io] of Object.entries(comp.inputs)) {
        if (!(name in inputs) && io.kind === 'parameter' && io.default !== undefined) inputs[name] = io.default;
      }
      if (comp.kind === 'pipeline') {
        const lock = await this.takeLocks(key, this.options(t, comp).synchronization);
        if (lock === 'stopped') return this.omit(key);
        try {
          return await this.nestedNode(t, comp, key, inputs);
        } finally {
          if (lock === 'held') this.unlock(key);
        }
      }
      return await this.runTask(t, comp, key, inputs);
    } catch (e) {
      if (e instanceof TaskFailure || !(e instanceof Error)) return this.failNode(key, t, e instanceof Error ? e.message : String(e));
      return this.failNode(key, t, e.message);
    }
  }

  private async nestedNode(t: TaskIR, comp: PipelineComponentIR, key: string, inputs: Record<string, RuntimeValue>): Promise<Outcome> {
    const sub: Scope = { base: key + '/', dag: dagInfo(comp.dag), params: inputs, items: new Map() };
    this.states.set(key, 'running');
    const outs = await Promise.all(this.register(comp.dag, sub, undefined));
    if (outs.some((x) => x === 'failed' || x === 'omitted')) {
      this.note(key, t, this.interrupted ? 'omitted' : 'failed', t.component, { error: 'a task of the nested pipeline failed' });
      return this.interrupted ? 'omitted' : 'failed';
    }
    const outputs: Record<string, RuntimeValue> = {};
    for (const [name, v] of Object.entries(comp.outputValues)) outputs[name] = this.value(v, sub, `${key}/outputs.${name}`);
    this.results.set(key, outputs);
    this.note(key, t, 'succeeded', t.component, { outputs: JSON.stringify(outputs) });
    return 'succeeded';
  }

  // ---- mutexes and semaphores ------------------------------------------------------------

  private omit(key: string): Outcome {
    this.states.set(key, 'omitted');
    return 'omitted';
  }

  /**
   * Takes what `sync` asks for, for task `key` (empty: the run), waiting while others hold it.
   * Reports the wait once per set of holders (`task.waiting`, `run.waiting`) and each hold taken
   * over from a process that is gone. `stopped` when the run is stopped while waiting.
   */
  private async takeLocks(key: string, sync: SynchronizationIR | undefined): Promise<'none' | 'held' | 'stopped'> {
    const o = this.o;
    if (!sync?.mutexes?.length && !sync?.semaphores?.length) return 'none';
    const want = wantedLocks(sync, o.semaphores, (name) => {
      if (this.unsized.has(name)) return;
      this.unsized.add(name);
      o.emit({ type: 'warning', time: o.clock.now(), runId: o.runId, message: unsizedWarning(name) });
    });
    let reported = '';
    let delay = 20;
    for (;;) {
      if (this.interrupted) return 'stopped';
      const r = o.store.tryLocks({ runId: o.runId, taskKey: key, holder: o.holder, now: Date.now(), want });
      for (const t of r.takenOver)
        o.emit({ type: 'warning', time: o.clock.now(), runId: o.runId, ...(key ? { key } : {}), message: `took over ${t.kind} ${t.name} from run ${t.run_id}${t.task_key ? ` task ${t.task_key}` : ''} (pid ${t.pid} on ${t.host} is gone)` });
      if (r.ok) return 'held';
      const message = `waiting for ${want.map(describeLock).join(', ')}: held by ${r.blockers.map((b) => `run ${b.run_id}${b.task_key ? ` task ${b.task_key}` : ''} (pid ${b.pid} on ${b.host})`).join(', ')}`;
      if (message !== reported) {
        reported = message;
        if (key) this.states.set(key, 'waiting');
        o.emit(key ? { type: 'task.waiting', time: o.clock.now(), runId: o.runId, key, message } : { type: 'run.waiting', time: o.clock.now(), runId: o.runId, message });
      }
      await waitForRelease(o.store.file, delay, o.signal);
      delay = Math.min(delay * 2, o.lockPollMs ?? 500);
    }
  }

  /**
   * GPU devices for task `key`: free in this run's pool and not held by another run of the store
   * (each device is a store-wide `gpu` lock, as mutexes are), taken in one transaction.
   */
  private async takeGpus(key: string, n: number): Promise<string[] | 'stopped'> {
    const o = this.o;
    if (n <= 0) return [];
    let delay = 20;
    let reported = '';
    for (;;) {
      if (this.interrupted) return 'stopped';
      const busy = o.store.gpusInUse(o.holder);
      const ids = o.gpus.tryAcquire(n, busy);
      if (ids) {
        const r = o.store.tryLocks({ runId: o.runId, taskKey: key, holder: o.holder, now: Date.now(), want: ids.map((d) => ({ kind: 'gpu' as const, name: d, size: 1 })) });
        if (r.ok) return ids;
        o.gpus.release(ids);
      }
      const message = `waiting for ${n} GPU${n > 1 ? 's' : ''}: ${busy.size ? `${[...busy].join(',')} in use by another run of this store` : 'all in use by this run'}`;
      if (message !== reported) {
        reported = message;
        this.states.set(key, 'waiting');
        o.emit({ type: 'task.waiting', time: o.clock.now(), runId: o.runId, key, message });
      }
      await waitForRelease(o.store.file, delay, o.signal);
      delay = Math.min(delay * 2, o.lockPollMs ?? 500);
    }
  }

  /** Queues the release of task `key`'s locks (it shares the commit of the attempt's outcome), then wakes local waiters. */
  private unlock(key: string): void {
    const { store, runId, holder } = this.o;
    store.enqueue(() => store.releaseLocks(runId, key, holder), `unlock:${key}`);
    void store.flush().then(() => notifyReleased(store.file), () => {});
  }

  // ---- one task: resume, cache, attempts -------------------------------------------------

  private revive(json: string): { [name: string]: RuntimeValue } {
    const o = JSON.parse(json) as { [name: string]: RuntimeValue };
    const fix = (v: RuntimeValue): RuntimeValue => {
      if (isArtifactRef(v)) {
        const path = this.o.cas.pathOf(v.hash);
        return { ...v, path, uri: pathToFileURL(path).href };
      }
      if (Array.isArray(v) && v.length && v.every(isArtifactRef)) return (v as ArtifactRef[]).map((a) => fix(a) as ArtifactRef);
      return v;
    };
    for (const k of Object.keys(o)) o[k] = fix(o[k] as RuntimeValue);
    return o;
  }

  /** Records task `key` as the producer of the artifacts among its outputs (values passed on keep their producer). */
  private produced(key: string, outputs: { readonly [name: string]: RuntimeValue }): void {
    for (const [name, v] of Object.entries(outputs)) {
      for (const a of isArtifactRef(v) ? [v] : Array.isArray(v) ? v.filter(isArtifactRef) : []) {
        if (!this.producers.has(a)) this.producers.set(a, { run: this.o.runId, task: key, output: name });
      }
    }
  }

  /** The consumption edges of a task's inputs: each artifact it receives and the output that produced it. */
  private consumed(inputs: { readonly [name: string]: RuntimeValue }): Consumption[] {
    const edges: Consumption[] = [];
    for (const [input, v] of Object.entries(inputs)) {
      const list = isArtifactRef(v) ? [v] : Array.isArray(v) && v.every(isArtifactRef) ? (v as readonly ArtifactRef[]) : [];
      list.forEach((a, idx) => edges.push({ input, idx, hash: a.hash, from: this.producers.get(a) ?? null }));
    }
    return edges;
  }


  /**
   * Are the artifacts of `outputs` stored and intact (a cheap stamp check, a full hash when it
   * differs)? A damaged object is removed, with a warning: the task runs again and stores it anew.
   */
  private async outputsComplete(outputs: { [name: string]: RuntimeValue }, key: string): Promise<boolean> {
    const refs: ArtifactRef[] = [];
    for (const v of Object.values(outputs)) {
      if (isArtifactRef(v)) refs.push(v);
      else if (Array.isArray(v)) for (const a of v) if (isArtifactRef(a)) refs.push(a);
    }
    for (const a of refs) {
      const state = await this.o.cas.check(a.hash);
      if (state === 'ok') continue;
      if (state === 'corrupt') {
        this.o.cas.remove(a.hash);
        this.o.emit({ type: 'warning', time: this.o.clock.now(), runId: this.o.runId, key, message: `artifact sha256:${a.hash.slice(0, 16)} was modified after it was stored (its content no longer matches its hash); removed it, ${key} runs again` });
      }
      return false;
    }
    return true;
  }

  /** Input artifacts a step changed in place (as root, read-only files do not stop it): removed from the store. */
  private async damagedInputs(inputs: Record<string, RuntimeValue>): Promise<string[]> {
    const bad: string[] = [];
    for (const [name, v] of Object.entries(inputs)) {
      for (const a of Array.isArray(v) ? v : [v]) {
        if (!isArtifactRef(a)) continue;
        if ((await this.o.cas.check(a.hash)) !== 'ok') {
          this.o.cas.remove(a.hash);
          bad.push(`${name} (sha256:${a.hash.slice(0, 16)})`);
        }
      }
    }
    return bad;
  }

  private async runTask(t: TaskIR, comp: ComponentIR, key: string, inputs: Record<string, RuntimeValue>): Promise<Outcome> {
    const o = this.o;
    const prev = this.prior.get(key);
    if (prev && (prev.state === 'succeeded' || prev.state === 'cached') && prev.outputs !== null) {
      const outputs = this.revive(prev.outputs);
      if (await this.outputsComplete(outputs, key)) {
        this.produced(key, outputs);
        this.results.set(key, outputs);
        this.states.set(key, prev.state);
        o.emit({ type: 'task.resumed', time: o.clock.now(), runId: o.runId, key, status: prev.state });
        return 'succeeded';
      }
    }
    const opts = this.options(t, comp);
    const cache = cachePolicy(opts);
    const cacheOn = cache.enabled;
    const parts: CacheParts = cacheParts(comp, inputs, cache.version, cache.key, o.codeHash);
    const ckey = cacheKey(parts);
    const partsJson = JSON.stringify(parts);
    const inputsJson = JSON.stringify(inputs);
    const found = lookupCache(o.store, cache, ckey, o.clock.now(), !o.noCache && this.cacheKeys.has(ckey));
    if (found.hit) {
      const hit = found.entry;
      {
        const outputs = this.revive(hit.outputs);
        if (await this.outputsComplete(outputs, key)) {
          const artifacts = Object.entries(outputs).filter(([, v]) => isArtifactRef(v)).map(([name, v]) => {
            const a = v as ArtifactRef;
            const st = statSync(a.path);
            return { output: name, hash: a.hash, type: a.type, size: st.isFile() ? st.size : 0, metadata: JSON.stringify(a.metadata) };
          });
          const rec = { runId: o.runId, key, taskId: t.id, component: t.component, state: 'cached' as const, now: o.clock.now(), cacheKey: ckey, cacheParts: partsJson, cachedFrom: `${hit.run_id}/${hit.task_key}`, inputs: inputsJson, outputs: hit.outputs, artifacts };
          const edges = this.consumed(inputs);
          o.store.enqueue(() => {
            o.store.recordTask(rec);
            o.store.recordConsumptions(o.runId, key, edges);
          }, `cached:${key}`);
          this.produced(key, outputs);
          this.results.set(key, outputs);
          this.states.set(key, 'cached');
          o.emit({ type: 'task.cached', time: o.clock.now(), runId: o.runId, key, message: `from ${hit.run_id}/${hit.task_key}` });
          return 'succeeded';
        }
      }
    }
    const { count: gpuCount, fallback } = localGpus(o.gpus, opts.resources?.gpu, `task ${key}`);
    if (fallback) o.emit({ type: 'warning', time: o.clock.now(), runId: o.runId, key, message: fallback });
    const priorAttempts = prev ? o.store.attemptsOf(o.runId, key) : [];
    // One retry budget for every kind of failure (SDK semantics), counted over earlier attempts too.
    let spent = 0;
    for (const a of priorAttempts) if (a.outcome === 'failed' || a.outcome === 'timeout' || a.outcome === 'error' || a.outcome === 'preempted') spent++;
    let firstStart: number | undefined;
    // the task row of an unfinished task counts its attempts (successful ones leave no attempt row)
    let attempt = Math.max(priorAttempts.length, prev?.attempts ?? 0);
    let attemptStart = o.clock.now();
    const store = o.store;
    this.states.set(key, 'running');
    const tdir = `${o.runDir}/tasks/${keyDir(key)}`;
    const timeoutMs = opts.timeoutSeconds !== undefined ? opts.timeoutSeconds * 1000 : undefined;
    let first = true;
    for (;;) {
      attempt++;
      // Locks first, then GPUs and a slot: a task waiting for a lock holds neither.
      const lock = await this.takeLocks(key, opts.synchronization);
      if (lock === 'stopped') return this.omit(key);
      const gpus = await this.takeGpus(key, gpuCount);
      if (gpus === 'stopped') return this.omit(key);
      await this.slots.acquire();
      let res: AttemptResult;
      try {
        if (this.interrupted || this.pastDeadline) {
          this.states.set(key, 'omitted');
          return 'omitted';
        }
        if (first) crashPoint('task.before-start');
        // The task's start (first time) and the attempt's are committed, together with whatever
        // else is queued (such as the success of the task this one depends on), before it runs.
        const isFirst = first;
        const n = attempt;
        const now = o.clock.now();
        const edges = isFirst ? this.consumed(inputs) : [];
        store.enqueue(() => {
          if (isFirst) {
            store.recordConsumptions(o.runId, key, edges);
            store.startTask({ runId: o.runId, key, taskId: t.id, component: t.component, now, cacheKey: cacheOn ? ckey : null, cacheParts: cacheOn ? partsJson : null, inputs: inputsJson, attempt: n });
            if (prev?.state === 'running' && prev.attempts > 0 && !priorAttempts.some((a) => a.n === prev.attempts))
              store.finishAttempt({ runId: o.runId, key, n: prev.attempts, startedAt: prev.started_at ?? now, now, outcome: 'interrupted', exitCode: null, signal: null, message: 'the runner stopped during this attempt' });
          } else store.startAttempt(o.runId, key, n);
        }, `start:${key}#${n}`);
        attemptStart = now;
        firstStart ??= prev?.started_at ?? now;
        first = false;
        await store.flush();
        crashPoint('attempt.after-start');
        o.emit({ type: 'task.started', time: o.clock.now(), runId: o.runId, key, attempt, gpus });
        const req: AttemptRequest = {
          runId: o.runId, key, taskId: t.id, componentHash: t.component, component: comp, inputs, attempt, gpus,
          outputsDir: `${tdir}/attempt-${attempt}/outputs`, checkpointDir: `${tdir}/checkpoints`,
          logFile: `${o.runDir}/logs/${keyDir(key)}.log`, timeoutMs, env: { ...o.stepEnv, ...opts.env }, signal: this.exitPhase ? o.signal : this.stepSignal,
          // the step's process group, so that a later runner can stop it if this one dies
          onProcess: (pid) => {
            const started = processStart(pid);
            store.enqueue(() => store.setTaskProcess(o.runId, key, pid, started), `pid:${key}`);
          },
        };
        markAttempt(req.logFile, attempt, o.clock.now()); // `sluice logs` shows where each attempt starts
        res = await (comp.kind === 'function' ? o.functions : o.containers).run(req);
        // stopped by the pipeline's deadline (not by the runner): a failure, never retried
        if (!res.ok && this.pastDeadline && !this.interrupted) res = { ...res, kind: 'preempted', outcome: 'timeout', message: `stopped: ${this.deadlineMessage()}` };
        const damaged = await this.damagedInputs(inputs);
        if (damaged.length)
          res = { ok: false, kind: 'nonretryable', outcome: 'nonretryable', message: `the step modified its input artifact${damaged.length > 1 ? 's' : ''} ${damaged.join(', ')} in place; stored artifacts are read-only (write to an output instead). The damaged object was removed: the task that produced it runs again in the next run`, exitCode: res.ok ? 0 : res.exitCode, signal: res.ok ? null : res.signal };
        if (o.onAttempt) await o.onAttempt({ key, attempt, outputsDir: req.outputsDir }).catch((e: unknown) => o.emit({ type: 'warning', time: o.clock.now(), runId: o.runId, message: `task ${key}: ${(e as Error).message}` }));
        if (res.ok) {
          const outputs: Record<string, RuntimeValue> = { ...res.params };
          const artifacts: { output: string; hash: string; type: string; size: number; metadata: string }[] = [];
          for (const [name, a] of Object.entries(res.artifacts)) {
            const io = comp.outputs[name];
            const type = io?.kind === 'artifact' ? io.artifactType : 'Artifact';
            const got = await o.cas.ingest(a.path);
            outputs[name] = { kind: 'artifact', type, hash: got.hash, path: got.path, uri: pathToFileURL(got.path).href, metadata: a.metadata };
            artifacts.push({ output: name, hash: got.hash, type, size: got.size, metadata: JSON.stringify(a.metadata) });
          }
          const done = { runId: o.runId, key, attempt, now: o.clock.now(), outputs: JSON.stringify(outputs), cacheKey: cacheOn ? ckey : null, artifacts };
          store.enqueue(() => store.commitSuccess(done), `done:${key}`);
          this.produced(key, outputs);
          this.results.set(key, outputs);
          this.states.set(key, 'succeeded');
          // Dependents flush before they run; the event is reported once the success is durable.
          const n = attempt;
          void store.flush().then(() => o.emit({ type: 'task.succeeded', time: o.clock.now(), runId: o.runId, key, attempt: n }), () => {});
          return 'succeeded';
        }
      } finally {
        this.slots.release();
        o.gpus.release(gpus);
        // queued behind the attempt's outcome: released in the same commit
        if (lock === 'held' || gpus.length) this.unlock(key);
      }
      const interrupted = this.interrupted && res.kind === 'preempted';
      const outcome: AttemptOutcome = interrupted ? 'interrupted' : res.outcome;
      const fin = { runId: o.runId, key, n: attempt, startedAt: attemptStart, now: o.clock.now(), outcome, exitCode: res.exitCode, signal: res.signal, message: res.message, gpus };
      store.enqueue(() => store.finishAttempt(fin), `attempt:${key}#${attempt}`);
      if (interrupted) {
        this.states.set(key, 'omitted');
        return 'omitted';
      }
      const kind: FailureKind = res.kind;
      if (!this.failFast && shouldRetry(opts.retry, spent, kind, { firstStartMs: firstStart ?? attemptStart, nowMs: o.clock.now() })) {
        spent++;
        const delayMs = backoffMs(opts.retry, spent, o.random);
        this.states.set(key, 'retrying');
        o.emit({ type: 'task.retrying', time: o.clock.now(), runId: o.runId, key, attempt, message: `${res.outcome}: ${res.message}`, delayMs });
        await o.clock.sleep(delayMs, this.exitPhase ? o.signal : this.stepSignal);
        if (this.interrupted || this.pastDeadline) {
          this.states.set(key, 'omitted');
          return 'omitted';
        }
        continue;
      }
      this.failFast = true;
      const message = `${res.outcome === 'failed' ? '' : res.outcome === 'invalid' ? 'invalid inputs: ' : `${res.outcome}: `}${res.message}`;
      const failedAt = o.clock.now();
      const n = attempt;
      store.enqueue(() => store.setTaskFailed(o.runId, key, n, failedAt, message), `failed:${key}`);
      this.states.set(key, 'failed');
      o.emit({ type: 'task.failed', time: o.clock.now(), runId: o.runId, key, attempt, message });
      return 'failed';
    }
  }
}
