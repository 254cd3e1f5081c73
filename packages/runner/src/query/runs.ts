/**
 * Run views from the local state store, as plain data: what `sluice runs` and `sluice show` print,
 * what `--json` returns, and what a web view or tracking sink reads. No printing here.
 */
import { hostname } from 'node:os';
import type { JsonValue, NodeIR, PipelineIR } from '@sluice/sdk';
import type { AttemptRow, LeaseRow, RunRow, StateStore, TaskRow } from '../store/state.ts';
import type { OutputValue } from '../backend/events.ts';
import type { ArtifactView, AttemptView, CacheView, DriverView, RunFilter, RunOverviewView, RunRef, RunSummaryView, RunView, TaskBriefView, TaskCounts, TaskView } from '../backend/views.ts';
import { explainMisses } from '../engine/cache.ts';
import { dagOrder, dagSortKey, naturalCompare, sortByDagOrder } from './order.ts';

/** A stored epoch-ms time as ISO-8601 (null when not recorded). */
export const iso = (ms: number | null | undefined): string | null => (ms ? new Date(ms).toISOString() : null);

/** A stored JSON column, parsed; null when absent or not JSON. */
export function parse<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/** Whether the process driving a run is alive: its pid on this host, or a recent heartbeat from another. */
export function driverOf(lease: LeaseRow | undefined, now: number, staleMs = 30_000): DriverView | null {
  if (!lease) return null;
  let alive: boolean;
  if (lease.host === hostname()) {
    try {
      process.kill(lease.pid, 0);
      alive = true;
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  } else alive = now - lease.heartbeat_at < staleMs;
  return { alive, pid: lease.pid, host: lease.host, heartbeatAt: new Date(lease.heartbeat_at).toISOString() };
}

/** The pipeline IR a run recorded (null if unreadable). */
export function irOf(run: RunRow): PipelineIR | null {
  const ir = parse<PipelineIR>(run.ir);
  return ir && Array.isArray(ir.dag) && typeof ir.components === 'object' ? ir : null;
}

/** Component hashes of nested pipelines: their task rows summarise inner tasks and are not counted. */
function pipelineComponents(ir: PipelineIR | null): Set<string> {
  return new Set(Object.entries(ir?.components ?? {}).filter(([, c]) => c.kind === 'pipeline').map(([h]) => h));
}

/** How many leaf tasks the pipeline will run, as far as known: loops count once their size is recorded. */
function plannedTasks(ir: PipelineIR | null, loopSizes: ReadonlyMap<string, number>): number {
  if (!ir) return 0;
  const count = (nodes: readonly NodeIR[], prefix: string, seen: ReadonlySet<string>): number => {
    let n = 0;
    for (const node of nodes) {
      if (node.kind === 'task') {
        const c = ir.components[node.component];
        n += c?.kind === 'pipeline' && !seen.has(node.component) ? count(c.dag, `${prefix}${node.id}/`, new Set([...seen, node.component])) : 1;
      } else if (node.kind === 'condition') n += Math.max(count(node.then, prefix, seen), count(node.else, prefix, seen));
      else {
        const size = loopSizes.get(prefix + node.id) ?? 0;
        // a body without loops counts the same in every iteration: counted once (10,000 iterations, one walk)
        if (size > 0 && !hasLoop(node.body, ir, seen)) n += size * count(node.body, `${prefix}${node.id}[0]/`, seen);
        else for (let i = 0; i < size; i++) n += count(node.body, `${prefix}${node.id}[${i}]/`, seen);
      }
    }
    return n;
  };
  return count(ir.dag, '', new Set()) + (ir.exitHandler ? 1 : 0);
}

/** Whether `nodes` hold a loop, in a condition's branches or a nested pipeline's DAG too (the nodes {@link plannedTasks} sizes by key). */
function hasLoop(nodes: readonly NodeIR[], ir: PipelineIR, seen: ReadonlySet<string>): boolean {
  return nodes.some((node) => {
    if (node.kind === 'loop') return true;
    if (node.kind === 'condition') return hasLoop(node.then, ir, seen) || hasLoop(node.else, ir, seen);
    const c = ir.components[node.component];
    return c?.kind === 'pipeline' && !seen.has(node.component) && hasLoop(c.dag, ir, new Set([...seen, node.component]));
  });
}

/**
 * Counts of the leaf tasks of a run by state, and how many are not reached yet. In a run that
 * ended (`ended`: succeeded or failed), tasks never reached did not run: they count as omitted.
 */
export function taskCounts(tasks: readonly Pick<TaskRow, 'key' | 'component' | 'state' | 'outputs'>[], ir: PipelineIR | null, ended = false): TaskCounts {
  const nested = pipelineComponents(ir);
  const groups: Pick<TaskRow, 'key' | 'outputs'>[] = [];
  const states = new Map<string, number>();
  for (const t of tasks) {
    if (!t.component) groups.push(t);
    else if (!nested.has(t.component)) states.set(t.state, (states.get(t.state) ?? 0) + 1);
  }
  return countTasks(states, groups, ir, ended);
}

/**
 * {@link taskCounts} from how many leaf tasks are in each state (the rows of nested pipelines'
 * tasks, which summarise their inner tasks, left out) and the loop and condition rows (a loop's
 * size is in its outputs).
 */
function countTasks(states: ReadonlyMap<string, number>, groups: readonly Pick<TaskRow, 'key' | 'outputs'>[], ir: PipelineIR | null, ended: boolean): TaskCounts {
  const c = { total: 0, succeeded: 0, cached: 0, failed: 0, skipped: 0, omitted: 0, running: 0, pending: 0 };
  const loops = new Map<string, number>();
  for (const t of groups) {
    const it = parse<{ iterations?: number }>(t.outputs)?.iterations;
    if (typeof it === 'number') loops.set(t.key, it);
  }
  for (const [state, n] of states) {
    c.total += n;
    switch (state) {
      case 'succeeded': c.succeeded += n; break;
      case 'cached': c.cached += n; break;
      case 'failed': c.failed += n; break;
      case 'skipped': c.skipped += n; break;
      case 'omitted': c.omitted += n; break;
      default: c.running += n;
    }
  }
  const unreached = Math.max(0, plannedTasks(ir, loops) - c.total);
  if (ended) c.omitted += unreached;
  else c.pending = unreached;
  return c;
}

/** The counts as a person reads them: `13 done, 1 skipped`, `3 done (2 cached), 1 failed, 4 omitted`. */
export function progressText(c: TaskCounts): string {
  const done = c.succeeded + c.cached;
  const parts = [`${done} done${c.cached ? ` (${c.cached} cached)` : ''}`];
  for (const [n, what] of [[c.running, 'running'], [c.failed, 'failed'], [c.skipped, 'skipped'], [c.omitted, 'omitted'], [c.pending, 'not started']] as const) if (n) parts.push(`${n} ${what}`);
  return parts.join(', ');
}

export function localRef(storeRoot: string, id: string): RunRef {
  return { backend: 'local', store: storeRoot, id };
}

const ended = (run: RunRow) => run.status === 'succeeded' || run.status === 'failed';

function summary(store: StateStore, run: RunRow, storeRoot: string, now: number, tasks?: readonly Pick<TaskRow, 'key' | 'component' | 'state' | 'outputs'>[] | TaskCounts): RunSummaryView {
  const counts = tasks && !Array.isArray(tasks) ? tasks as TaskCounts : taskCounts((tasks as readonly TaskRow[] | undefined) ?? store.tasksOfRun(run.id), irOf(run), ended(run));
  const driver = run.status === 'running' ? driverOf(store.getLease(run.id), now) : null;
  return {
    ref: localRef(storeRoot, run.id), id: run.id, pipeline: run.pipeline, status: run.status,
    orphaned: run.status === 'running' && !driver?.alive,
    createdAt: iso(run.created_at) as string, finishedAt: iso(run.finished_at),
    durationMs: (run.finished_at ?? now) - run.created_at, counts, progress: progressText(counts), error: run.error,
  };
}

/** Runs of the store, newest first, filtered by status and pipeline. */
export function listRunViews(store: StateStore, storeRoot: string, filter: RunFilter = {}, now = Date.now()): RunSummaryView[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (filter.status) {
    where.push('status = ?');
    args.push(filter.status);
  }
  if (filter.pipeline) {
    where.push('pipeline = ?');
    args.push(filter.pipeline);
  }
  const rows = store.db.prepare(`SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`).all(...args, filter.limit ?? 20) as RunRow[];
  return rows.map((r) => summary(store, r, storeRoot, now));
}

function attemptViews(t: TaskRow, rows: readonly AttemptRow[]): AttemptView[] {
  const out: AttemptView[] = rows.map((a) => ({
    n: a.n, outcome: a.outcome, startedAt: iso(a.started_at), finishedAt: iso(a.finished_at), exitCode: a.exit_code, signal: a.signal, message: a.message,
    gpus: a.gpus ? a.gpus.split(',') : [],
  }));
  // the succeeded (or still running) attempt lives in the task row
  if (t.attempts > 0 && !rows.some((a) => a.n === t.attempts) && (t.state === 'succeeded' || t.state === 'running' || t.state === 'retrying')) {
    const prev = rows.at(-1);
    out.push({
      n: t.attempts, outcome: t.state === 'succeeded' ? 'succeeded' : 'running', startedAt: t.attempts === 1 ? iso(t.started_at) : iso(prev?.finished_at), finishedAt: t.state === 'succeeded' ? iso(t.finished_at) : null,
      exitCode: t.state === 'succeeded' ? 0 : null, signal: null, message: null, gpus: [],
    });
  }
  return out;
}

function cacheView(t: TaskRow, misses: ReadonlyMap<string, string>, isTask: boolean): CacheView {
  if (t.state === 'cached') return { status: 'hit', from: t.cached_from ?? 'unknown' };
  const miss = misses.get(t.key);
  if (miss !== undefined) return { status: 'miss', reason: miss };
  if (isTask && t.started_at !== null && !t.cache_parts && t.state !== 'skipped' && t.state !== 'omitted') return { status: 'off' };
  return { status: 'none' };
}

function kindOf(t: Pick<TaskRow, 'key' | 'task_id' | 'component' | 'outputs'>, ir: PipelineIR | null): TaskView['kind'] {
  if (t.component) return 'task';
  return parse<{ iterations?: number }>(t.outputs)?.iterations !== undefined || /\[\d+\]$/.test(t.key) ? 'loop' : loopIds(ir).has(t.task_id) ? 'loop' : 'condition';
}

function taskView(t: TaskRow, ir: PipelineIR | null, attempts: readonly AttemptRow[], misses: ReadonlyMap<string, string>): TaskView {
  const kind = kindOf(t, ir);
  return {
    key: t.key, taskId: t.task_id, component: t.component, kind, state: t.state,
    startedAt: iso(t.started_at), finishedAt: iso(t.finished_at), durationMs: t.started_at && t.finished_at ? t.finished_at - t.started_at : null,
    attempts: attemptViews(t, attempts), cache: cacheView(t, misses, kind === 'task'),
    inputs: parse<{ [name: string]: OutputValue }>(t.inputs), outputs: kind === 'task' ? parse<{ [name: string]: OutputValue }>(t.outputs) : null, error: t.error,
  };
}

/** Sorts items by their task key in the run's DAG order (computing each key's rank once). */
function byDagOrder<T>(items: readonly T[], key: (x: T) => string, ir: PipelineIR | null): T[] {
  return sortByDagOrder(items, key, ir);
}

/** The tasks of a run in DAG order, each with its attempts and its cache hit or miss (and why). */
export function taskViews(store: StateStore, run: RunRow, tasks: readonly TaskRow[] = store.tasksOfRun(run.id)): TaskView[] {
  const ir = irOf(run);
  const attempts = new Map<string, AttemptRow[]>();
  for (const a of store.attemptsOfRun(run.id)) {
    let l = attempts.get(a.key);
    if (!l) attempts.set(a.key, (l = []));
    l.push(a);
  }
  const misses = store.cacheMisses(run);
  return byDagOrder(tasks, (t) => t.key, ir).map((t) => taskView(t, ir, attempts.get(t.key) ?? [], misses));
}

/**
 * A run's tasks in brief (in DAG order) and their counts, read as columns: SQLite builds one JSON
 * array per column (no row objects; one string each to parse), and the rows that are not leaf
 * tasks (few) come from a second query.
 */
function briefColumns(store: StateStore, run: RunRow): { readonly briefs: TaskBriefView[]; readonly counts: TaskCounts } {
  const ir = irOf(run);
  const [keys, states, attempts, durations] = (store.db.prepare(`SELECT json_group_array(key), json_group_array(state), json_group_array(attempts), json_group_array(CASE WHEN started_at AND finished_at THEN finished_at - started_at END) FROM tasks WHERE run_id = ?`).raw().get(run.id) as string[]).map((col) => JSON.parse(col) as unknown[]) as [string[], TaskBriefView['state'][], number[], (number | null)[]];
  // the rows that are not leaf tasks: loops and conditions, and tasks that run a nested pipeline
  const others = store.db.prepare(`SELECT key, task_id, component, outputs FROM tasks WHERE run_id = ? AND (component = '' OR component IN (SELECT value FROM json_each(?)))`).all(run.id, JSON.stringify([...pipelineComponents(ir)])) as Pick<TaskRow, 'key' | 'task_id' | 'component' | 'outputs'>[];
  const groups = others.filter((g) => !g.component);
  // the kind of each row that is not a leaf task (a nested pipeline's task: a 'task', not counted)
  const special = new Map<string, TaskBriefView['kind']>(others.map((g) => [g.key, g.component ? 'task' : kindOf(g, ir)]));
  // one pass: each task's brief, in DAG order, and the tally of leaf tasks by state
  const tally = new Map<string, number>();
  const briefs = dagOrderOf(keys, ir).map((i): TaskBriefView => {
    const key = keys[i] as string;
    const state = states[i] as TaskBriefView['state'];
    const kind = special.get(key);
    if (kind === undefined) tally.set(state, (tally.get(state) ?? 0) + 1);
    return { key, kind: kind ?? 'task', state, durationMs: durations[i] ?? null, attempts: attempts[i] as number };
  });
  return { briefs, counts: countTasks(tally, groups, ir, ended(run)) };
}

/**
 * The positions of `keys` in {@link sortByDagOrder}'s order. Keys that differ only in loop indices
 * (`many[0]/work`, `many[1]/work`) share their ranks: those are looked up once per such shape, and
 * each key contributes its indices (10,000 loop iterations: one lookup, not 10,000).
 */
function dagOrderOf(keys: readonly string[], ir: PipelineIR | null): number[] {
  const ix = keys.map((_, i) => i);
  if (!ir) return sortByDagOrder(ix, (i) => keys[i] as string, ir);
  const sortKey = dagSortKey(ir);
  const shapes = new Map<string, readonly number[]>();
  const ranks = keys.map((key) => {
    const shape = key.includes('[') ? key.replace(INDEXED, '[0]') : key;
    let r = shapes.get(shape);
    if (!r) shapes.set(shape, (r = sortKey(shape)));
    if (shape === key) return r;
    // a segment's loop index sits after its rank (see dagSortKey): [rank, index, rank, index, ...]
    const own = r.slice();
    const segs = key.split('/');
    for (let j = 0; j < segs.length && 2 * j + 1 < own.length; j++) {
      const seg = segs[j] as string;
      const open = seg.lastIndexOf('[');
      if (open >= 0 && seg.endsWith(']') && DIGITS.test(seg.slice(open + 1, -1))) own[2 * j + 1] = Number(seg.slice(open + 1, -1));
    }
    return own;
  });
  return ix.sort((a, b) => compareRanks(ranks[a] as readonly number[], ranks[b] as readonly number[]) || naturalCompare(keys[a] as string, keys[b] as string));
}
/** A loop index at the end of a key's segment (what dagSortKey reads as one). */
const INDEXED = /\[\d+\](?=\/|$)/g;
const DIGITS = /^\d+$/;

function compareRanks(x: readonly number[], y: readonly number[]): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}

/**
 * One task of a run, as in {@link taskViews}, with its cache miss explained against the same task
 * of earlier runs of the pipeline only (not the whole run's). Null when the run has no such task.
 */
export function taskViewOf(store: StateStore, run: RunRow, key: string): TaskView | null {
  const t = store.getTask(run.id, key);
  if (!t) return null;
  const earlier = function* (): Generator<TaskRow[]> {
    const ids = store.db.prepare(`SELECT id FROM runs WHERE pipeline = ? AND rowid < (SELECT rowid FROM runs WHERE id = ?) ORDER BY rowid DESC`).pluck().all(run.pipeline, run.id) as string[];
    for (const id of ids) {
      const prev = store.getTask(id, key);
      yield prev ? [prev] : [];
    }
  };
  return taskView(t, irOf(run), store.attemptsOf(run.id, key), explainMisses([t], earlier));
}

const loopIdCache = new WeakMap<PipelineIR, Set<string>>();
function loopIds(ir: PipelineIR | null): Set<string> {
  if (!ir) return new Set();
  let s = loopIdCache.get(ir);
  if (s) return s;
  s = new Set();
  const walk = (nodes: readonly NodeIR[]) => {
    for (const n of nodes) {
      if (n.kind === 'loop') {
        s?.add(n.id);
        walk(n.body);
      } else if (n.kind === 'condition') {
        walk(n.then);
        walk(n.else);
      } else {
        const c = ir.components[n.component];
        if (c?.kind === 'pipeline') walk(c.dag);
      }
    }
  };
  walk(ir.dag);
  loopIdCache.set(ir, s);
  return s;
}

/** The artifacts a run's tasks produced, in DAG order of their producers then natural output order, with their consumers in the run. */
export function artifactViews(store: StateStore, run: RunRow): ArtifactView[] {
  return artifactPage(store, run, Number.POSITIVE_INFINITY).artifacts;
}

/**
 * The first `limit` of {@link artifactViews} and how many there are: only the shown artifacts'
 * consumers are read (a 10,000-iteration loop's outputs need not be joined for a page of 200).
 */
function artifactPage(store: StateStore, run: RunRow, limit: number): { artifacts: ArtifactView[]; total: number } {
  const ir = irOf(run);
  const order = ir ? dagOrder(ir) : naturalCompare;
  const all = store.artifactsOfRun(run.id).sort((a, b) => order(a.task_key, b.task_key) || naturalCompare(a.output, b.output));
  const shown = all.length > limit ? all.slice(0, limit) : all;
  const wanted = all.length > limit ? new Set(shown.map((a) => `${a.task_key}.${a.output}`)) : null;
  const consumers = new Map<string, string[]>();
  for (const c of store.consumptionsOfRun(run.id)) {
    if (c.from_run !== run.id || c.from_task === null) continue;
    const k = `${c.from_task}.${c.from_output}`;
    if (wanted && !wanted.has(k)) continue;
    let l = consumers.get(k);
    if (!l) consumers.set(k, (l = []));
    const name = `${c.task_key}.${c.input}`;
    if (!l.includes(name)) l.push(name);
  }
  const artifacts = shown.map((a) => ({
    name: `${a.task_key}.${a.output}`, task: a.task_key, output: a.output, type: a.type, size: a.size, hash: a.hash,
    metadata: parse<{ [key: string]: JsonValue }>(a.metadata) ?? {}, consumers: (consumers.get(`${a.task_key}.${a.output}`) ?? []).sort((x, y) => order(x.split('.')[0] as string, y.split('.')[0] as string) || naturalCompare(x, y)),
  }));
  return { artifacts, total: all.length };
}

function header(store: StateStore, run: RunRow, storeRoot: string, now: number, tasks: readonly TaskRow[] | TaskCounts): Omit<RunView, 'tasks' | 'artifacts'> {
  const s = summary(store, run, storeRoot, now, tasks);
  return {
    ...s,
    irHash: run.ir_hash, entry: run.entry, exportName: run.export_name, mode: run.mode,
    git: run.git_commit ? { commit: run.git_commit, dirty: !!run.git_dirty } : null,
    params: parse<{ [name: string]: JsonValue }>(run.params) ?? {},
    outputs: parse<{ [name: string]: OutputValue }>(run.outputs),
    driver: driverOf(store.getLease(run.id), now),
    holds: store.locksOfRun(run.id).map((l) => ({ kind: l.kind, name: l.name, task: l.task_key || null })),
    warnings: store.warningsOf(run.id).map((w) => ({ task: w.task_key, time: iso(w.at) as string, message: w.message })),
  };
}

/** Everything about one run. */
export function runView(store: StateStore, run: RunRow, storeRoot: string, now = Date.now()): RunView {
  const tasks = store.tasksOfRun(run.id);
  return { ...header(store, run, storeRoot, now, tasks), tasks: taskViews(store, run, tasks), artifacts: artifactViews(store, run) };
}

/**
 * A run as a page shows it first (see {@link RunOverviewView}): the same header as
 * {@link runView}, every task in brief, the first `artifactLimit` artifacts.
 */
export function runOverview(store: StateStore, run: RunRow, storeRoot: string, opts: { readonly artifactLimit?: number; readonly now?: number } = {}): RunOverviewView {
  const { briefs, counts } = briefColumns(store, run);
  const { artifacts, total } = artifactPage(store, run, opts.artifactLimit ?? 200);
  return { ...header(store, run, storeRoot, opts.now ?? Date.now(), counts), tasks: briefs, artifacts, artifactCount: total };
}

/**
 * Finds a run by id, unique id prefix, or `latest` (the newest run; `latest:<pipeline>` the
 * newest of a pipeline).
 */
export function findRunRow(store: StateStore, idOrAlias: string): RunRow {
  const m = /^latest(?::(.+))?$/.exec(idOrAlias);
  if (m && !store.getRun(idOrAlias)) {
    const row = (m[1]
      ? store.db.prepare(`SELECT * FROM runs WHERE pipeline = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`).get(m[1])
      : store.db.prepare(`SELECT * FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1`).get()) as RunRow | undefined;
    if (row) return row;
  }
  return store.findRun(idOrAlias);
}
