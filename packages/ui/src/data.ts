/**
 * What the web view shows, read through the runner's query layer (LocalBackend: the same views
 * `sluice runs/show/logs --json` print) and @sluice/tracking's store (metrics, registry). No SQL
 * of its own: every function here reshapes those views for a page.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { findRunRow, irOf, LocalBackend, StateStore, storePaths, type LogEntry, type RunOverviewView, type RunView, type TaskBriefView, type TaskView } from '@sluice/runner';
import type { NodeIR, PipelineIR, PredicateIR, ValueIR } from '@sluice/sdk';
import { openEmbeddedRegistry, openTrackingStore } from '@sluice/tracking';
import { layoutGraph, type Layout } from './layout.ts';
import { PageCache } from './page-cache.ts';

/** A user mistake the API answers with 4xx and a one-line message. */
export class UiError extends Error {
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

export interface GraphNode {
  /**
   * The node's id in the graph: its IR id, prefixed inside a nested pipeline by the id of the
   * task that runs it (`train/fit`). Loop iterations share their body's nodes.
   */
  readonly id: string;
  /** `pipeline`: a task running a pipeline component (a sub-DAG), a group of its own nodes. */
  readonly kind: 'task' | 'condition' | 'loop' | 'pipeline';
  /** Enclosing loop, condition branch (`<condition>:then` / `<condition>:else`) or nested pipeline; null at top level. */
  readonly parent: string | null;
  readonly label: string;
  /** The state of the task (summed over loop iterations: the worst one), or of the group. */
  readonly state: string;
  /** How many instances (loop iterations) are in each state. */
  readonly counts: { readonly [state: string]: number };
  /** Task keys of the instances, in order (capped at 50; `instances` is the total). */
  readonly keys: readonly string[];
  readonly instances: number;
  /** Conditions: the predicate as text and the branch taken (null until decided or when not reached). */
  readonly predicate?: string;
  readonly branch?: 'then' | 'else' | null;
  /** Loops: how many iterations ran or are planned. */
  readonly iterations?: number;
  /** Nested pipelines: the pipeline's name and how many of its tasks (over every instance, nested ones included) are in each state. */
  readonly pipeline?: string;
  readonly inner?: { readonly [state: string]: number };
  /** Tasks: environment variables read from secrets, as references (`secret <name>, key <key>`); never a value. */
  readonly secrets?: { readonly [env: string]: string };
}
export interface Graph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly { readonly from: string; readonly to: string }[];
}

const STATE_RANK = ['failed', 'running', 'retrying', 'waiting', 'omitted', 'succeeded', 'cached', 'skipped'];

function value(v: ValueIR): string {
  switch (v.kind) {
    case 'literal': return JSON.stringify(v.value);
    case 'param': return `params.${v.name}`;
    case 'output': return `${v.task}.${v.output}`;
    case 'item': return ['item', ...v.path].join('.');
    case 'collect': return `collect(${v.task}.${v.output})`;
    case 'oneOf': return `oneOf(${v.condition})`;
    case 'status': return 'status';
  }
}
/** A predicate as a person reads it: `pick-best.accuracy >= params.minAccuracy and …`. */
export function predicateText(p: PredicateIR): string {
  switch (p.kind) {
    case 'compare': return `${value(p.left)} ${p.op} ${value(p.right)}`;
    case 'and': return p.args.map((a) => (a.kind === 'or' ? `(${predicateText(a)})` : predicateText(a))).join(' and ');
    case 'or': return p.args.map(predicateText).join(' or ');
    case 'not': return `not (${predicateText(p.arg)})`;
  }
}

function sources(v: ValueIR, out: Set<string>): void {
  if (v.kind === 'output') out.add(v.task);
  else if (v.kind === 'collect') out.add(v.loop);
  else if (v.kind === 'oneOf') out.add(v.condition);
}
function predSources(p: PredicateIR, out: Set<string>): void {
  if (p.kind === 'compare') {
    sources(p.left, out);
    sources(p.right, out);
  } else if (p.kind === 'not') predSources(p.arg, out);
  else for (const a of p.args) predSources(a, out);
}

/** Graph ids of the tasks that run a nested pipeline (`train`, `train/inner`), from the IR. */
function pipelineTaskIds(ir: PipelineIR): Set<string> {
  const out = new Set<string>();
  const walk = (dag: readonly NodeIR[], prefix: string, seen: ReadonlySet<string>) => {
    for (const n of dag) {
      if (n.kind === 'condition') {
        walk(n.then, prefix, seen);
        walk(n.else, prefix, seen);
      } else if (n.kind === 'loop') walk(n.body, prefix, seen);
      else {
        const c = ir.components[n.component];
        if (c?.kind === 'pipeline' && !seen.has(n.component)) {
          out.add(prefix + n.id);
          walk(c.dag, `${prefix}${n.id}/`, new Set([...seen, n.component]));
        }
      }
    }
  };
  walk(ir.dag, '', new Set());
  return out;
}

/**
 * The graph id of a task key: loop indices and loop segments go (`sweep[2]/fit` -> `fit`), a
 * nested pipeline's task keeps the id of the task that runs it (`each[0]/train/fit` -> `train/fit`).
 */
export function graphIdOfKey(key: string, pipelineTasks: ReadonlySet<string>): string {
  const segs = key.split('/');
  let prefix = '';
  for (let i = 0; i < segs.length; i++) {
    const id = (segs[i] as string).replace(/\[\d+\]$/, '');
    if (i === segs.length - 1) return prefix + id;
    if (pipelineTasks.has(prefix + id)) prefix = `${prefix}${id}/`;
  }
  return prefix;
}

/**
 * {@link graphIdOfKey} of every key: keys that differ only in loop indices (`many[0]/work`,
 * `many[1]/work`) share a graph id, which is worked out once per such shape.
 */
export function graphIdsOfKeys(tasks: readonly { readonly key: string }[], pipelineTasks: ReadonlySet<string>): string[] {
  const byShape = new Map<string, string>();
  const out = new Array<string>(tasks.length);
  for (let i = 0; i < tasks.length; i++) {
    const key = (tasks[i] as { key: string }).key;
    const shape = key.includes('[') ? key.replace(INDEX, '[]') : key;
    let id = byShape.get(shape);
    if (id === undefined) byShape.set(shape, (id = graphIdOfKey(key, pipelineTasks)));
    out[i] = id;
  }
  return out;
}
const INDEX = /\[\d+\](?=\/|$)/g;

/** What the graph needs of each task instance. */
export interface GraphTask { readonly key: string; readonly state: string }

/**
 * The run's DAG from its IR, with each node's state from the run's tasks: loops and conditions
 * are groups (a loop's body once, with per-iteration counts: a 10,000-iteration loop is one group),
 * a condition carries its predicate and the branch taken, a nested pipeline is a group of its own
 * tasks (ids prefixed by its task's) with their states counted.
 */
export function runGraph(ir: PipelineIR, tasks: readonly GraphTask[], graphIds?: readonly string[]): Graph {
  const nestedIds = pipelineTaskIds(ir);
  const byId = new Map<string, GraphTask[]>();
  const inner = new Map<string, Record<string, number>>();
  // plain indexed loops over the tasks (10,000 of them, on a fresh server's first read: no iterators)
  let lastId: string | undefined;
  let last: GraphTask[] = [];
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i] as GraphTask;
    const id = graphIds?.[i] ?? graphIdOfKey(t.key, nestedIds);
    // a loop's iterations come one after another: the same list as the task before, mostly
    if (id !== lastId) {
      let l = byId.get(id);
      if (!l) byId.set(id, (l = []));
      last = l;
      lastId = id;
    }
    last.push(t);
  }
  for (const [id, inst] of byId) {
    if (nestedIds.has(id)) continue;
    // a leaf task (or group) inside nested pipelines counts for each of them
    for (let i = id.indexOf('/'); i >= 0; i = id.indexOf('/', i + 1)) {
      const p = id.slice(0, i);
      if (!nestedIds.has(p)) continue;
      const c = inner.get(p) ?? {};
      inner.set(p, c);
      for (const t of inst) c[t.state] = (c[t.state] ?? 0) + 1;
    }
  }
  const nodes: GraphNode[] = [];
  const edges: { from: string; to: string }[] = [];
  const ids = new Set<string>();
  const summary = (id: string) => {
    const inst = byId.get(id) ?? [];
    const counts: Record<string, number> = {};
    for (let i = 0; i < inst.length; i++) {
      const s = (inst[i] as GraphTask).state;
      counts[s] = (counts[s] ?? 0) + 1;
    }
    const state = inst.length ? (STATE_RANK.find((s) => counts[s]) ?? 'waiting') : 'pending';
    return { counts, state, keys: inst.slice(0, 50).map((t) => t.key), instances: inst.length };
  };
  const walk = (dag: readonly NodeIR[], parent: string | null, prefix: string, seen: ReadonlySet<string>) => {
    for (const n of dag) {
      const id = prefix + n.id;
      ids.add(id);
      const deps = new Set<string>(n.after);
      if (n.kind === 'task') {
        for (const v of Object.values(n.inputs)) sources(v, deps);
        const c = ir.components[n.component];
        const secretEnv = { ...(c && 'defaults' in c ? (c.defaults as { secretEnv?: Record<string, { secret: string; key: string }> }).secretEnv : undefined), ...n.options.secretEnv };
        const secrets = Object.fromEntries(Object.entries(secretEnv).map(([k, r]) => [k, `secret ${r.secret}, key ${r.key}`]));
        const label = c?.name && c.name !== n.id ? `${n.id} (${c.name})` : n.id;
        if (c?.kind === 'pipeline' && nestedIds.has(id) && !seen.has(n.component)) {
          nodes.push({ id, kind: 'pipeline', parent, label, ...summary(id), pipeline: c.name, inner: inner.get(id) ?? {} });
          walk(c.dag, id, `${id}/`, new Set([...seen, n.component]));
        } else nodes.push({ id, kind: 'task', parent, label, ...summary(id), ...(Object.keys(secrets).length ? { secrets } : {}) });
      } else if (n.kind === 'condition') {
        predSources(n.predicate, deps);
        const s = summary(id);
        const taken = (branch: readonly NodeIR[]) => branch.some((b) => (byId.get(prefix + b.id) ?? []).some((t) => t.state !== 'skipped' && t.state !== 'waiting'));
        const branch = taken(n.then) ? 'then' : taken(n.else) ? 'else' : null;
        nodes.push({ id, kind: 'condition', parent, label: n.id, ...s, predicate: predicateText(n.predicate), branch });
        walk(n.then, `${id}:then`, prefix, seen);
        walk(n.else, `${id}:else`, prefix, seen);
      } else {
        sources(n.items, deps);
        const s = summary(id);
        const body = n.body[0];
        const iterations = body ? (byId.get(prefix + body.id) ?? []).length : 0;
        nodes.push({ id, kind: 'loop', parent, label: n.id, ...s, iterations });
        walk(n.body, id, prefix, seen);
      }
      for (const d of deps) edges.push({ from: prefix + d, to: id });
    }
  };
  walk(ir.dag, null, '', new Set());
  if (ir.exitHandler) {
    nodes.push({ id: ir.exitHandler.id, kind: 'task', parent: null, label: `${ir.exitHandler.id} (exit handler)`, ...summary(ir.exitHandler.id) });
  }
  // edges into a loop's or condition's body from its own scope refer to ids that exist; drop the rest
  return { nodes, edges: edges.filter((e) => ids.has(e.from) && ids.has(e.to) && e.from !== e.to) };
}

const HEX = /^[0-9a-f]{64}$/;

/**
 * A run's tasks in brief, as columns (one array per field, `i`-th entries together): 10,000
 * tasks are ~0.3 MiB of JSON instead of 1.2 MiB of objects, and parse in a few milliseconds.
 */
export interface TaskColumns {
  readonly key: readonly string[];
  /** Index into `states`. */
  readonly state: readonly number[];
  readonly states: readonly string[];
  readonly durationMs: readonly (number | null)[];
  readonly attempts: readonly number[];
  /** Index into the graph's `nodes` of the node the task is drawn as (-1: none). */
  readonly node: readonly number[];
}

export function taskColumns(tasks: readonly TaskBriefView[], graph: Graph, graphIds: readonly string[]): TaskColumns {
  const states: string[] = [];
  const stateIx = new Map<string, number>();
  const nodeIx = new Map(graph.nodes.map((n, i) => [n.id, i]));
  const n = tasks.length;
  const key = new Array<string>(n);
  const state = new Array<number>(n);
  const durationMs = new Array<number | null>(n);
  const attempts = new Array<number>(n);
  const node = new Array<number>(n);
  let lastId: string | undefined;
  let lastNode = -1;
  for (let i = 0; i < n; i++) {
    const t = tasks[i] as TaskBriefView;
    let s = stateIx.get(t.state);
    if (s === undefined) {
      stateIx.set(t.state, (s = states.length));
      states.push(t.state);
    }
    key[i] = t.key;
    state[i] = s;
    durationMs[i] = t.durationMs;
    attempts[i] = t.attempts;
    const id = graphIds[i] as string;
    if (id !== lastId) {
      lastNode = nodeIx.get(id) ?? -1;
      lastId = id;
    }
    node[i] = lastNode;
  }
  return { key, state, states, durationMs, attempts, node };
}

/** The Run page's first answer: the run (without its tasks), its graph, and its tasks in brief as columns. */
export interface RunPage {
  readonly status: string;
  readonly run: Omit<RunOverviewView, 'tasks'>;
  readonly graph: Graph;
  readonly tasks: TaskColumns;
}

/** A file a trigger attached to a run it started (a drift report). */
export interface ReportView {
  readonly run: string;
  readonly name: string;
  readonly trigger: string;
  readonly mediaType: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly createdAt: string;
  /** Where the daemon wrote it (inside the store); never sent. */
  readonly path: string;
}

/** The web view's reads of one store directory. */
export class UiData {
  readonly backend: LocalBackend;
  readonly paths: ReturnType<typeof storePaths>;
  /** Part of every validator: answers of another build of the server never match. */
  etagSalt = '';
  /** Finished runs' page answers on disk (null: none kept beyond this process). */
  readonly pageCache: PageCache | null;
  /** How many page answers were computed from the store (tests: a kept answer is not). */
  pageReads = 0;
  /** @param opts.cacheDir where finished runs' page answers are kept across restarts (false: nowhere) */
  constructor(storeDir: string, opts: { readonly cacheDir?: string | false } = {}) {
    this.backend = new LocalBackend(storeDir);
    this.paths = storePaths(storeDir);
    this.pageCache = opts.cacheDir ? new PageCache(opts.cacheDir, this.paths.root) : null;
  }

  private state<T>(f: (s: StateStore) => T): T {
    const s = StateStore.open(this.paths.db, { readonly: true });
    try {
      return f(s);
    } finally {
      s.close();
    }
  }

  /** Runs, newest first; none yet when nothing has run in this store (the page says so). */
  async runs(limit = 500) {
    if (!existsSync(this.paths.db)) return [];
    return this.backend.listRuns({ limit });
  }

  private readonly recent = new Map<string, { at: number; view: Promise<unknown> }>();
  private readonly ended = new Map<string, { stamp: string; view: unknown }>();
  /**
   * Reads a view of a run through `read`, kept for a run that is not running until its record
   * changes (a resume or retry sets it running again and bumps `updated_at`); reads of a running
   * run within `memoMs` of the end of the last one share it (a page asks for the run and its
   * graph at once; the poller reads it too).
   */
  private async memo<T extends { readonly status: string }>(what: string, id: string, read: (runId: string) => Promise<T>, memoMs: number): Promise<T> {
    const row = this.state((s) => findRunRow(s, id));
    const stamp = `${row.status} ${row.updated_at}`;
    const slot = `${what} ${row.id}`;
    const done = this.ended.get(slot);
    if (done && done.stamp === stamp) return done.view as T;
    const hit = this.recent.get(slot);
    if (hit && Date.now() - hit.at < memoMs) return hit.view as Promise<T>;
    const view = read(row.id);
    const entry = { at: Number.POSITIVE_INFINITY, view };
    this.recent.set(slot, entry);
    try {
      const v = await view;
      entry.at = Date.now();
      if (v.status !== 'running') {
        this.ended.set(slot, { stamp, view: v });
        if (this.ended.size > 64) this.ended.delete(this.ended.keys().next().value as string);
      }
      return v;
    } catch (e) {
      this.recent.delete(slot);
      throw e;
    } finally {
      if (this.recent.size > 64) for (const [k, x] of this.recent) if (Date.now() - x.at >= memoMs) this.recent.delete(k);
    }
  }

  /** One run's full view (LocalBackend.getRun, what `sluice show --json` prints). */
  run(id: string, memoMs = 300): Promise<RunView> {
    return this.memo('run', id, (runId) => this.backend.getRun(runId), memoMs);
  }

  /**
   * What the Run page shows first, in one answer: the run with every task in brief
   * (LocalBackend.getRunOverview) and its graph. Cheap for big runs; a task's details come
   * from {@link task}.
   */
  page(id: string, memoMs = 300): Promise<RunPage> {
    return this.memo('page', id, (runId) => this.readPage(runId), memoMs);
  }

  private async readPage(runId: string): Promise<RunPage> {
    this.pageReads++;
    const { tasks, ...run } = await this.backend.getRunOverview(runId);
    const ir = this.ir(runId);
    const nested = pipelineTaskIds(ir);
    const ids = graphIdsOfKeys(tasks, nested);
    const graph = runGraph(ir, tasks, ids);
    return { status: run.status, run, graph, tasks: taskColumns(tasks, graph, ids) };
  }

  private readonly bodies = new Map<string, { readonly stamp: string; readonly body: string }>();
  /**
   * {@link page} as the JSON text the API sends. A finished run's answer is made once per record
   * stamp: kept in memory, and on disk (see {@link PageCache}) for the next server; a resume, a
   * retry or a store made again changes the stamp, and the answer is read from the store again.
   */
  async pageBody(id: string): Promise<string> {
    const row = this.state((s) => findRunRow(s, id));
    const stamp = row.status === 'running' ? null : PageCache.stamp(row);
    if (stamp !== null) {
      const kept = this.bodies.get(row.id);
      if (kept?.stamp === stamp) return kept.body;
      const disk = this.pageCache?.get(row.id, stamp);
      if (disk !== undefined) {
        this.keep(row.id, stamp, disk);
        return disk;
      }
    }
    // the requests that came with this one (the page's bundle) are answered before the run is read (the read holds the thread)
    await new Promise<void>((resolve) => setImmediate(resolve));
    const p = await this.page(row.id);
    // with the graph's layout as the page first draws it (every nested pipeline closed): the page draws the DAG without dagre
    const layout: Layout = layoutGraph(p.graph, new Set());
    const body = JSON.stringify({ run: p.run, graph: p.graph, layout, tasks: p.tasks });
    // the stamp read before the answer: if the run changed meanwhile, the next read's stamp differs
    if (stamp !== null && p.status !== 'running') {
      this.keep(row.id, stamp, body);
      this.pageCache?.put(row.id, stamp, body);
    }
    return body;
  }

  private keep(runId: string, stamp: string, body: string): void {
    this.bodies.delete(runId);
    this.bodies.set(runId, { stamp, body });
    if (this.bodies.size > 16) this.bodies.delete(this.bodies.keys().next().value as string);
  }

  /** One task of a run: attempts, cache hit or miss (and why), inputs, outputs. */
  task(id: string, key: string): Promise<TaskView> {
    return this.backend.getTask(id, key);
  }

  /**
   * A validator for a run's answers: the same while its record does not change, null while it
   * runs (then every answer is fresh).
   */
  etag(id: string, what: string): string | null {
    const row = this.state((s) => findRunRow(s, id));
    return row.status === 'running' ? null : `"${createHash('sha256').update(`${this.etagSalt}\0${what}\0${row.id}\0${row.status}\0${row.updated_at}\0${row.ir_hash}`).digest('base64url').slice(0, 27)}"`;
  }

  /** The run id a name (id, prefix, `latest`) stands for. */
  runId(id: string): string {
    return this.state((s) => findRunRow(s, id)).id;
  }

  /** The run's recorded IR (pipeline structure; secrets appear as references only, as in the IR). */
  ir(id: string): PipelineIR {
    const ir = this.state((s) => irOf(findRunRow(s, id)));
    if (!ir) throw new UiError(404, `run ${id} has no readable pipeline IR`);
    return ir;
  }

  async graph(id: string): Promise<Graph> {
    return (await this.page(id)).graph;
  }

  async logs(id: string, task: string): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    for await (const e of this.backend.logs(id, { task })) out.push(e);
    return out;
  }

  async metrics(runId: string) {
    const t = await openTrackingStore(this.paths.root, { readonly: true }).catch(() => undefined);
    if (!t) return [];
    try {
      return t.metrics(runId);
    } finally {
      t.close();
    }
  }

  /** One artifact by its full sha256 (64 hex digits), looked up in the store: never a path from the caller. */
  async artifact(hash: string) {
    const h = hash.replace(/^sha256:/, '');
    if (!HEX.test(h)) throw new UiError(400, 'an artifact is named by its sha256: 64 lowercase hex digits');
    const rows = this.state((s) => s.artifactsByHash(h)).filter((r) => r.hash === h);
    const row = rows[0];
    if (!row) throw new UiError(404, `no artifact sha256:${h} in this store`);
    const file = join(this.paths.artifacts, 'sha256', h.slice(0, 2), h);
    // where it came from, following recorded edges (the query layer's lineage, as `sluice lineage` prints it)
    const lineage = await this.backend.lineage(h).catch(() => null);
    return { hash: h, type: row.type, producers: rows.map((r) => ({ run: r.run_id, task: r.task_key, output: r.output })), lineage, preview: preview(file, row.type) };
  }

  async compare(ids: readonly string[]) {
    if (ids.length < 2) throw new UiError(400, 'compare needs at least two runs (?runs=a,b)');
    const runs = await Promise.all(ids.map((i) => this.run(i)));
    const sides = await Promise.all(runs.map(async (r) => {
      const points = await this.metrics(r.id);
      const last: Record<string, number> = {};
      const series: Record<string, [number, number][]> = {};
      for (const p of points) {
        const k = `${p.taskKey}/${p.name}`;
        last[k] = p.value;
        (series[k] ??= []).push([p.step, p.value]);
      }
      const data: Record<string, string> = {};
      for (const a of r.artifacts) data[a.name] = a.hash.slice(0, 12);
      const params = Object.fromEntries(Object.entries(r.params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
      return { id: r.id, pipeline: r.pipeline, commit: r.git ? `${r.git.commit.slice(0, 12)}${r.git.dirty ? '+dirty' : ''}` : '-', params, metrics: Object.fromEntries(Object.entries(last).map(([k, v]) => [k, String(v)])), data, series };
    }));
    const section = (k: 'params' | 'metrics' | 'data') => {
      const keys = [...new Set(sides.flatMap((x) => Object.keys(x[k])))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
      return keys.map((key) => {
        const values = sides.map((x) => x[k][key] ?? null);
        return { key, values, differs: new Set(values).size > 1 };
      });
    };
    const commits = sides.map((x) => x.commit);
    return {
      runs: sides.map((x) => ({ id: x.id, pipeline: x.pipeline, commit: x.commit })),
      commit: { values: commits, differs: new Set(commits).size > 1 },
      params: section('params'), metrics: section('metrics'), data: section('data'),
      series: sides.map((x) => ({ run: x.id, series: x.series })),
    };
  }

  /** The store's triggers: last decisions (fire, suppress, skip; reason, evidence) and the runs they started, with the reports attached to them. */
  async triggers() {
    const triggers = await this.backend.triggers({ decisions: 50 });
    const reports = await this.reportRows([...new Set(triggers.flatMap((t) => t.fires.map((f) => f.runId)))]);
    return triggers.map((t) => ({ ...t, fires: t.fires.map((f) => ({ ...f, reports: (reports.get(f.runId) ?? []).map((r) => r.name) })) }));
  }

  /**
   * The files a trigger attached to a run it started (its drift report), from the trigger
   * daemon's records (the read `sluice triggers explain` makes); none when no daemon ran here.
   */
  async reports(id: string): Promise<ReportView[]> {
    const run = this.runId(id);
    return (await this.reportRows([run])).get(run) ?? [];
  }

  /** Reports of many runs at once (the triggers page), by run id. */
  private async reportRows(runs: readonly string[]): Promise<Map<string, ReportView[]>> {
    const out = new Map<string, ReportView[]>();
    if (!runs.length) return out;
    // loaded when asked, and only the daemon's store (its module and the engine's): the whole
    // package (statistics, Argo emitter, CLI) took 0.6-1.5 s to load through tsx, on a Run page's first visit
    const { TriggerStore } = await import('@sluice/triggers/store');
    let t;
    try {
      t = TriggerStore.open(this.paths.db, { readonly: true });
    } catch {
      return out; // no trigger tables: the daemon never ran on this store
    }
    try {
      for (const run of runs) {
        const rows = t.reports(run);
        if (rows.length) out.set(run, rows.map((r) => ({ run, name: r.name, trigger: r.trigger, mediaType: r.media_type, bytes: r.bytes, sha256: r.sha256, createdAt: new Date(r.created_at).toISOString(), path: r.path })));
      }
    } finally {
      t.close();
    }
    return out;
  }

  /**
   * One report of a run with its preview (HTML is shown in a sandboxed frame). The file is the one
   * the daemon recorded, read only inside this store and only while its bytes have the recorded
   * sha256: nothing is ever read by a path from the caller.
   */
  async report(id: string, name: string) {
    const all = await this.reports(id);
    const r = all.find((x) => x.name === name);
    if (!r) throw new UiError(404, `run ${this.runId(id)} has no report "${name}"${all.length ? `; its reports: ${all.map((x) => x.name).join(', ')}` : ''}`);
    let file: string;
    let bytes: Buffer;
    try {
      file = realpathSync(r.path);
      const root = realpathSync(this.paths.root);
      if (!file.startsWith(root + sep)) throw new UiError(404, `report "${name}" of run ${r.run} is not in this store`);
      bytes = readFileSync(file);
    } catch (e) {
      if (e instanceof UiError) throw e;
      throw new UiError(404, `report "${name}" of run ${r.run} is gone from the store (it was ${r.path})`);
    }
    if (createHash('sha256').update(bytes).digest('hex') !== r.sha256) throw new UiError(404, `report "${name}" of run ${r.run} changed since the trigger recorded it (sha256 differs)`);
    const { path: _path, ...view } = r;
    // the daemon says what it is: an HTML report is shown as HTML whatever its first lines look like
    return { ...view, preview: r.mediaType === 'text/html' ? { kind: 'html' as const, size: bytes.length, text: bytes.toString('utf8') } : preview(file, 'Artifact') };
  }

  async models() {
    const r = await openEmbeddedRegistry(this.paths.root).catch(() => undefined);
    if (!r) return [];
    try {
      const list = await r.list();
      return Promise.all(list.map(async (m) => ({ ...m, versionList: await r.versions(m.name) })));
    } finally {
      r.close();
    }
  }
}

const PREVIEW_BYTES = 256 * 1024;
/** Images shown inline (as data: URLs, which the page's CSP allows for images only), by their first bytes. */
const IMAGES = [
  { mime: 'image/png', magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { mime: 'image/jpeg', magic: [0xff, 0xd8, 0xff] },
  { mime: 'image/gif', magic: [0x47, 0x49, 0x46, 0x38] },
];

/** A preview by type: the first rows of a CSV or JSON table, a Metrics JSON, text, or a note. */
export function preview(file: string, type: string) {
  let st;
  try {
    st = statSync(file);
  } catch {
    return { kind: 'missing' as const };
  }
  if (st.isDirectory()) return { kind: 'directory' as const, size: st.size };
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(Math.min(st.size, PREVIEW_BYTES));
  try {
    readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  const truncated = st.size > buf.length;
  const image = IMAGES.find((i) => i.magic.every((b, k) => buf[k] === b));
  if (image) return truncated ? { kind: 'binary' as const, size: st.size } : { kind: 'image' as const, size: st.size, dataUrl: `data:${image.mime};base64,${buf.toString('base64')}` };
  if (buf.subarray(0, 8192).includes(0)) return { kind: 'binary' as const, size: st.size };
  const text = buf.toString('utf8');
  const trimmed = text.trimStart();
  if (!truncated && (trimmed.startsWith('{') || trimmed.startsWith('['))) {
    try {
      const json = JSON.parse(text) as unknown;
      if (Array.isArray(json) && json.every((r) => r && typeof r === 'object' && !Array.isArray(r))) {
        const columns = [...new Set(json.slice(0, 50).flatMap((r) => Object.keys(r as object)))];
        return { kind: 'table' as const, size: st.size, columns, rows: json.slice(0, 50).map((r) => columns.map((c) => (r as Record<string, unknown>)[c] ?? null)), total: json.length };
      }
      return { kind: type === 'Metrics' ? ('metrics' as const) : ('json' as const), size: st.size, json };
    } catch {
      /* not JSON: text */
    }
  }
  const lines = text.split('\n');
  const looksCsv = type === 'Dataset' || /\.csv$/i.test(file) || (lines.length > 1 && (lines[0] ?? '').includes(',') && (lines[1] ?? '').split(',').length === (lines[0] ?? '').split(',').length);
  if (looksCsv && lines.length > 1) {
    const rows = lines.filter((l) => l.length).slice(0, 51).map((l) => l.split(','));
    return { kind: 'table' as const, size: st.size, columns: rows[0] ?? [], rows: rows.slice(1), total: truncated ? null : lines.filter((l) => l.length).length - 1 };
  }
  if (/^\s*<(!doctype|html)/i.test(text)) return { kind: 'html' as const, size: st.size, text };
  return { kind: 'text' as const, size: st.size, text: text.slice(0, 64 * 1024), truncated: truncated || text.length > 64 * 1024 };
}
