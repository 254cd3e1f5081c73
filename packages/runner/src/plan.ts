import { existsSync } from 'node:fs';
import type { ComponentIR, ConditionIR, JsonValue, LoopIR, NodeIR, PipelineIR, TaskIR, TaskOptionsIR, ValueIR } from '@sluice/sdk';
import { cachePolicy, effectiveTaskOptions } from '@sluice/sdk';
import { cacheKey, cacheParts, lookupCache } from './engine/cache.ts';
import { toLoadedPipeline } from '@sluice/executor';
import { describeLock, semaphoreSizes, unsizedWarning, wantedLocks } from './engine/locks.ts';
import { isArtifactRef, type LoadedPipeline, type RuntimeValue } from './engine/types.ts';
import { checkRunnable, type DagInfo, dagInfo, evalPredicate, instanceKey, nodeDeps, taskInputs, walkPath } from './engine/values.ts';
import { ArtifactStore } from './store/cas.ts';
import { StateStore } from './store/state.ts';
import { ParamsError, storePaths } from './run.ts';
import { parseParamsFromIR } from './params.ts';
import { canonicalJson } from '@sluice/sdk';

const UNKNOWN = Symbol('unknown');
type V = RuntimeValue | typeof UNKNOWN;

/** One line of a dry-run plan. */
export interface PlanStep {
  readonly key: string;
  readonly kind: 'task' | 'condition' | 'loop' | 'pipeline' | 'exit';
  /** 1 for nodes that can start at once; a node's wave is one more than its latest dependency's. */
  readonly wave: number;
  /** `run`, `cached`, `skipped` (its branch is decided against it), `maybe` (decided at run time), `then`/`else` for conditions. */
  readonly decision: string;
  readonly note?: string;
  /** Inputs known before the run, rendered as JSON (artifacts by hash). */
  readonly inputs?: { readonly [name: string]: string };
  /** Mutexes and semaphores the task holds while it runs (`mutex gpu-node`, `semaphore limits/trainers (2 at a time)`). */
  readonly locks?: readonly string[];
}

export interface Plan {
  readonly pipeline: string;
  readonly params: { readonly [name: string]: JsonValue };
  readonly steps: readonly PlanStep[];
  /** Mutexes and semaphores the whole run holds. */
  readonly runLocks: readonly string[];
  readonly text: string;
}

interface Scope { base: string; dag: DagInfo; params: Record<string, V>; items: Map<string, { index: number | '*'; value: V }>; maybe: boolean }

/**
 * The plan of a run without running anything or writing anything: the order of tasks, resolved
 * parameters, which steps the cache would serve, which branches are decided already.
 *
 * @example
 * const plan = await planRun(pipeline, { params: { lr: '0.1' }, paramsFromCli: true });
 * console.log(plan.text);
 */
export interface PlanOptions { params?: Record<string, unknown>; paramsFromCli?: boolean; storeDir?: string; noCache?: boolean; semaphores?: Readonly<Record<string, number>>; now?: number; codeHash?: string }

async function planParams(loaded: LoadedPipeline, o: PlanOptions): Promise<Record<string, JsonValue>> {
  if (loaded.source !== undefined) {
    const sdk = (await import('@sluice/sdk')) as unknown as { parsePipelineParams(p: unknown, raw: Record<string, unknown>, o: { fromCli?: boolean }): { ok: true; values: Record<string, JsonValue> } | { ok: false; issues: [] } };
    const r = sdk.parsePipelineParams(loaded.source, { ...o.params }, { fromCli: !!o.paramsFromCli });
    if (!r.ok) throw new ParamsError(r.issues);
    return r.values;
  }
  const r = parseParamsFromIR(loaded.ir, o.params ?? {}, !!o.paramsFromCli);
  if (!r.ok) throw new ParamsError(r.issues);
  return r.values;
}

export async function planRun(pipeline: unknown, o: PlanOptions = {}): Promise<Plan> {
  const loaded: LoadedPipeline = await toLoadedPipeline(pipeline, 'the pipeline');
  const ir: PipelineIR = loaded.ir;
  checkRunnable(ir);
  const params = await planParams(loaded, o);
  const paths = storePaths(o.storeDir);
  const store = existsSync(paths.db) ? StateStore.open(paths.db, { readonly: true }) : undefined;
  const planner = new Planner(ir, o, store, new ArtifactStore(paths.artifacts), semaphoreSizes(paths.root, process.env, o.semaphores));
  const runLocks = planner.locksOf(ir.options.synchronization);
  try {
    planner.planRoot(params);
  } finally {
    store?.close();
  }
  const { steps, unsized } = planner;
  return { pipeline: ir.name, params, steps, runLocks, text: planText(ir.name, params, steps, runLocks, unsized) };
}

const show = (x: V): string => (x === UNKNOWN ? '<from upstream>' : isArtifactRef(x) ? `artifact ${x.hash.slice(0, 12)}` : JSON.stringify(x));

/** Joins the non-empty parts of a step's note. */
const joinNote = (...parts: string[]): string => parts.filter(Boolean).join('; ');

/**
 * Walks the IR as the engine would, without running anything: keys, inputs, defaults and cache
 * lookups go through the engine's own functions (values.ts, cache.ts).
 */
class Planner {
  readonly steps: PlanStep[] = [];
  readonly unsized = new Set<string>();
  private readonly outputs = new Map<string, Record<string, V>>();
  private readonly waves = new Map<string, number>();
  private readonly decided = new Map<string, 'then' | 'else' | undefined>();
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly ir: PipelineIR,
    private readonly o: PlanOptions,
    private readonly store: StateStore | undefined,
    private readonly cas: ArtifactStore,
    private readonly sizes: ReturnType<typeof semaphoreSizes>,
  ) {}

  locksOf(sync: Parameters<typeof wantedLocks>[0]): string[] {
    return wantedLocks(sync, this.sizes, (n) => this.unsized.add(n)).map(describeLock);
  }

  planRoot(params: Record<string, JsonValue>): void {
    const ir = this.ir;
    const root: Scope = { base: '', dag: dagInfo(ir.dag, ir.exitHandler ? [ir.exitHandler] : []), params, items: new Map(), maybe: false };
    const end = this.walk(ir.dag, root, 1, false);
    if (ir.exitHandler) this.taskStep(ir.exitHandler, ir.exitHandler.id, root, end + 1, false, 'exit');
  }

  private keyFor(id: string, s: Scope): string {
    return instanceKey(s.base, s.dag, s.items, id) ?? s.base + id;
  }

  /** A value as far as it is known before the run (`UNKNOWN` when an upstream step decides it). */
  private value(v: ValueIR, s: Scope): V {
    switch (v.kind) {
      case 'literal': return v.value;
      case 'param': return v.name in s.params ? (s.params[v.name] as V) : UNKNOWN;
      case 'output': { const r = this.outputs.get(this.keyFor(v.task, s)); return r && v.output in r ? (r[v.output] as V) : UNKNOWN; }
      case 'item': { const it = s.items.get(v.loop); if (!it || it.value === UNKNOWN) return UNKNOWN; try { return walkPath(it.value as JsonValue, v.path, v.loop); } catch { return UNKNOWN; } }
      case 'collect': return this.collected(v, s);
      case 'oneOf': {
        const b = this.decided.get(this.keyFor(v.condition, s));
        if (!b) return UNKNOWN;
        for (const opt of v.options) { const r = this.outputs.get(this.keyFor(opt.task, s)); if (r && opt.output in r) return r[opt.output] as V; }
        return UNKNOWN;
      }
      case 'status': return UNKNOWN;
    }
  }

  private collected(v: Extract<ValueIR, { kind: 'collect' }>, s: Scope): V {
    const lk = this.keyFor(v.loop, s);
    const n = this.counts.get(lk);
    if (n === undefined) return UNKNOWN;
    const prefix = lk.slice(0, lk.length - v.loop.length);
    const list: RuntimeValue[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.outputs.get(`${prefix}${v.loop}[${i}]/${v.task}`);
      if (!r || r[v.output] === UNKNOWN || r[v.output] === undefined) return UNKNOWN;
      list.push(r[v.output] as RuntimeValue);
    }
    return list as RuntimeValue;
  }

  /** 1 for nodes that can start at once; one more than the latest dependency's wave. */
  private waveOf(n: NodeIR, s: Scope, floor: number): number {
    let w = floor;
    for (const d of nodeDeps(n)) w = Math.max(w, (this.waves.get(this.keyFor(d, s)) ?? 0) + 1);
    return Math.max(w, 1);
  }

  /** Plans `nodes` in dependency order; returns the last wave they reach. */
  private walk(nodes: readonly NodeIR[], s: Scope, floor: number, skipped: boolean): number {
    let last = floor;
    // dependencies first: nodes are emitted in an order where each follows what it reads
    const pending = [...nodes];
    const local = new Set(nodes.map((n) => n.id));
    const doneIds = new Set<string>();
    while (pending.length) {
      const i = pending.findIndex((n) => nodeDeps(n).every((d) => !local.has(d) || doneIds.has(d)));
      const n = pending.splice(i < 0 ? 0 : i, 1)[0] as NodeIR;
      doneIds.add(n.id);
      const key = this.keyFor(n.id, s);
      const w = this.waveOf(n, s, floor);
      if (n.kind === 'condition') this.conditionStep(n, key, s, w, skipped);
      else if (n.kind === 'loop') this.loopStep(n, key, s, w, skipped);
      else this.taskNode(n, key, s, w, skipped);
      last = Math.max(last, this.waves.get(key) ?? w);
    }
    return last;
  }

  private conditionStep(n: ConditionIR, key: string, s: Scope, w: number, skipped: boolean): void {
    let b: 'then' | 'else' | undefined;
    if (!skipped) {
      try {
        const known = (v: ValueIR) => { const x = this.value(v, s); if (x === UNKNOWN) throw UNKNOWN; return x; };
        b = evalPredicate(n.predicate, known) ? 'then' : 'else';
      } catch { b = undefined; }
    }
    this.decided.set(key, b);
    this.waves.set(key, w);
    this.steps.push({ key, kind: 'condition', wave: w, decision: skipped ? 'skipped' : b ?? 'maybe', note: skipped ? 'in a branch not taken' : b ? `decided already: ${b} branch` : 'decided at run time' });
    const e1 = this.walk(n.then, { ...s, maybe: s.maybe || !b }, w + 1, skipped || b === 'else');
    const e2 = this.walk(n.else, { ...s, maybe: s.maybe || !b }, w + 1, skipped || b === 'then');
    this.waves.set(key, Math.max(e1, e2, w));
  }

  private loopStep(n: LoopIR, key: string, s: Scope, w: number, skipped: boolean): void {
    const items = skipped ? UNKNOWN : this.value(n.items, s);
    let end = w;
    if (Array.isArray(items)) {
      this.counts.set(key, items.length);
      this.steps.push({ key, kind: 'loop', wave: w, decision: skipped ? 'skipped' : 'run', note: `${items.length} iterations${n.parallelism ? `, ${n.parallelism} at a time` : ''}` });
      items.forEach((it, idx) => {
        const m = new Map(s.items); m.set(n.id, { index: idx, value: it as JsonValue });
        end = Math.max(end, this.walk(n.body, { ...s, items: m }, w + 1, skipped));
      });
    } else {
      this.steps.push({ key, kind: 'loop', wave: w, decision: skipped ? 'skipped' : 'maybe', note: 'items known at run time' });
      const m = new Map(s.items); m.set(n.id, { index: '*', value: UNKNOWN });
      end = this.walk(n.body, { ...s, items: m }, w + 1, skipped);
    }
    this.waves.set(key, end);
  }

  /** A task node: its step, and for a nested pipeline its own DAG and the outputs it exports. */
  private taskNode(n: TaskIR, key: string, s: Scope, w: number, skipped: boolean): void {
    this.waves.set(key, w);
    this.taskStep(n, key, s, w, skipped, 'task');
    const c = this.ir.components[n.component];
    if (c?.kind !== 'pipeline') return;
    const inputs: Record<string, V> = {};
    for (const [k, v] of Object.entries(n.inputs)) inputs[k] = this.value(v, s);
    const sub: Scope = { base: key + '/', dag: dagInfo(c.dag), params: inputs, items: new Map(), maybe: s.maybe };
    const end = this.walk(c.dag, sub, w, skipped);
    const outs: Record<string, V> = {};
    for (const [k, v] of Object.entries(c.outputValues)) outs[k] = this.value(v, sub);
    this.outputs.set(key, outs);
    this.waves.set(key, end);
  }

  taskStep(t: TaskIR, key: string, s: Scope, w: number, skipped: boolean, kind: 'task' | 'exit'): void {
    const c = this.ir.components[t.component];
    if (!c) return;
    const inputs = taskInputs<V>(t, c, (v) => (skipped ? UNKNOWN : this.value(v, s))) as Record<string, V>;
    const shown = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, show(v)]));
    const opts = effectiveTaskOptions(this.ir.options, c, t);
    const locks = skipped ? [] : this.locksOf(opts.synchronization);
    const takes = locks.length ? { locks } : {};
    if (c.kind === 'pipeline') {
      this.steps.push({ key, kind: 'pipeline', wave: w, decision: skipped ? 'skipped' : s.maybe ? 'maybe' : 'run', note: [`nested pipeline ${c.name}`, ...(locks.length ? [`takes ${locks.join(', ')}`] : [])].join('; '), inputs: shown, ...takes });
      return;
    }
    if (skipped) {
      this.steps.push({ key, kind, wave: w, decision: 'skipped', note: 'in a branch not taken' });
      return;
    }
    const cached = this.cacheDecision(c, inputs, opts, key, s);
    let note = cached.note;
    if (opts.resources?.gpu) note = joinNote(note, `${opts.resources.gpu.count} GPU${opts.resources.gpu.type ? ` of type ${opts.resources.gpu.type}` : ''}`);
    if (locks.length) note = joinNote(note, `takes ${locks.join(', ')}`);
    this.steps.push({ key, kind, wave: w, decision: cached.decision, ...(note ? { note } : {}), inputs: shown, ...takes });
  }

  /** What the cache would do for a task with these inputs (the engine's lookup, read-only); a hit's outputs become known. */
  private cacheDecision(c: ComponentIR, inputs: Record<string, V>, opts: TaskOptionsIR, key: string, s: Scope): { decision: string; note: string } {
    let decision = s.maybe ? 'maybe' : 'run';
    let note = s.maybe ? 'runs if its branch is taken' : '';
    const known = Object.values(inputs).every((v) => v !== UNKNOWN);
    const cache = cachePolicy(opts);
    const { store, o, cas } = this;
    if (!cache.enabled) note = joinNote(note, 'cache disabled');
    else if (!known) note = joinNote(note, 'cache decided at run time (inputs come from upstream steps)');
    else if (store && !o.noCache) {
      const found = lookupCache(store, cache, cacheKey(cacheParts(c, inputs as Record<string, RuntimeValue>, cache.version, cache.key, o.codeHash)), o.now ?? Date.now());
      const hit = found.hit ? found.entry : undefined;
      const outs = hit ? (JSON.parse(hit.outputs) as Record<string, RuntimeValue>) : undefined;
      if (!found.hit && found.why === 'expired') note = joinNote(note, `the cache entry is older than maxAge ${cache.maxAge}`);
      else if (hit && outs && Object.values(outs).every((v) => !isArtifactRef(v) || cas.has(v.hash))) {
        if (!s.maybe) decision = 'cached';
        note = `${s.maybe ? 'if taken, ' : ''}served from cache (${hit.run_id}/${hit.task_key})`;
        this.outputs.set(key, Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, isArtifactRef(v) ? { ...v, path: cas.pathOf(v.hash) } : v])));
      } else note = joinNote(note, 'not in the cache');
    }
    return { decision, note };
  }
}

/** The plan as the CLI prints it: waves of steps with their decisions and notes. */
function planText(name: string, params: Record<string, JsonValue>, steps: readonly PlanStep[], runLocks: readonly string[], unsized: ReadonlySet<string>): string {
  const lines = [`dry run of ${name}: nothing is run and nothing is written`, `params ${canonicalJson(params)}`];
  if (runLocks.length) lines.push(`the run holds ${runLocks.join(', ')} from start to end (shared with every run of this store)`);
  lines.push('');
  const icon: Record<string, string> = { run: '▶', cached: '◆', skipped: '–', maybe: '?', then: '⑂', else: '⑂' };
  const byWave = [...steps].sort((a, b) => a.wave - b.wave);
  let cur = 0;
  for (const st of byWave) {
    if (st.wave !== cur) { cur = st.wave; lines.push(`wave ${cur}`); }
    const ins = st.inputs && Object.keys(st.inputs).length ? `  (${Object.entries(st.inputs).map(([k, v]) => `${k}=${v}`).join(', ')})` : '';
    lines.push(`  ${icon[st.decision] ?? ' '} ${st.key}  ${st.kind === 'exit' ? 'exit handler, runs last' : st.decision}${st.note ? ` — ${st.note}` : ''}${st.kind === 'task' || st.kind === 'exit' ? ins : ''}`);
  }
  const n = (d: string) => steps.filter((x) => (x.kind === 'task' || x.kind === 'exit') && x.decision === d).length;
  lines.push('', `${n('run')} to run, ${n('cached')} from cache, ${n('maybe')} depending on run-time decisions, ${n('skipped')} skipped`);
  for (const name of [...unsized].sort()) lines.push(`warning: ${unsizedWarning(name)}`);
  return lines.join('\n') + '\n';

}
