/**
 * Limits pass (internal): orders each DAG topologically and nests DAGs with more tasks than Argo
 * accepts (200 per DAG in v4's CRD) into chunk templates. Chunks follow dependency levels, so a
 * wide fan-out becomes one chunk per 200 independent tasks that wait only for their real
 * producers' chunk; references across chunks become chunk inputs/outputs in the render pass.
 */
import * as graphlib from '@dagrejs/graphlib';
import { IdIndex } from './ids.ts';
import type { NameRegistry } from './names.ts';
import type { LDag, LTask } from './lower.ts';

const MAX_DAG_TASKS = 200;

/**
 * Each task's predecessors in `tasks` (positions), from the IR ids it uses; `stamp` finds the
 * position of every IR id the tasks contain in `index` (depth 0). Built once per DAG: chunks
 * derive theirs from these positions.
 */
function predecessors(tasks: readonly LTask[], index: IdIndex): { preds: number[][]; stamp: number } {
  const n = tasks.length;
  const stamp = index.index(tasks, 0);
  const preds: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    // A literal array has room for what it holds (most tasks have one predecessor or none).
    let ps: number[] | undefined;
    const uses = tasks[i]!.uses;
    for (let u = 0; u < uses.length; u++) {
      const j = index.find(0, stamp, uses[u]!);
      if (j < 0 || j === i) continue;
      if (!ps) ps = [j];
      else if (!ps.includes(j)) ps.push(j);
    }
    preds[i] = ps ?? [];
  }
  return { preds, stamp };
}

/** Positions in a stable topological order, with each one's dependency level (same index). */
function levels(preds: readonly (readonly number[])[]): { order: Int32Array; level: Int32Array } {
  // Builders emit nodes in dependency order: keep it when it already is a topological order (this
  // also avoids graphlib's recursive topsort on long chains). Cycles were reported by validation.
  const sorted = inOrder(preds) ? undefined : topsort(preds.length, preds);
  const lv = new Int32Array(preds.length);
  const maxLevel = levelsIn(preds, sorted, lv);
  return byLevel(lv, maxLevel);
}

function inOrder(preds: readonly (readonly number[])[]): boolean {
  for (let i = 0; i < preds.length; i++) {
    const p = preds[i]!;
    for (let k = 0; k < p.length; k++) if (p[k]! > i) return false;
  }
  return true;
}

/** Each position's dependency level into `lv`, visiting positions in `sorted` order (or as they are); returns the highest. */
function levelsIn(preds: readonly (readonly number[])[], sorted: readonly number[] | undefined, lv: Int32Array): number {
  let maxLevel = 0;
  for (let k = 0; k < preds.length; k++) {
    const i = sorted ? sorted[k]! : k;
    const p = preds[i]!;
    let l = 0;
    for (let m = 0; m < p.length; m++) { const d = lv[p[m]!]! + 1; if (d > l) l = d; }
    lv[i] = l;
    if (l > maxLevel) maxLevel = l;
  }
  return maxLevel;
}

/** Stable counting sort of positions by level. */
function byLevel(lv: Int32Array, maxLevel: number): { order: Int32Array; level: Int32Array } {
  // Each loop is a function with nothing after the loop: V8 optimizes a hot loop on the stack
  // (OSR) and reuses that code on every later call; code after the loop would run without type
  // feedback there and leave the optimized code (deoptimize) on each call, once per DAG.
  const start = new Int32Array(maxLevel + 2);
  const order = new Int32Array(lv.length);
  const level = new Int32Array(lv.length);
  countLevels(lv, start);
  prefixSums(start);
  placeByLevel(lv, start, order, level);
  return { order, level };
}

/** `start[l + 1]`: how many positions have level `l`. */
function countLevels(lv: Int32Array, start: Int32Array): void {
  for (let i = 0, n = lv.length; i < n; i++) start[lv[i]! + 1]!++;
}

/** Counts to start offsets: `start[l]` is where level `l` begins in the order. */
function prefixSums(start: Int32Array): void {
  for (let l = 1, n = start.length; l < n; l++) start[l]! += start[l - 1]!;
}

function placeByLevel(lv: Int32Array, start: Int32Array, order: Int32Array, level: Int32Array): void {
  for (let i = 0, n = lv.length; i < n; i++) {
    const at = start[lv[i]!]!++;
    order[at] = i;
    level[at] = lv[i]!;
  }
}

function topsort(n: number, preds: readonly (readonly number[])[]): number[] {
  const g = new graphlib.Graph({ directed: true, multigraph: false, compound: false });
  for (let i = 0; i < n; i++) g.setNode(String(i));
  preds.forEach((ps, i) => { for (const j of ps) g.setEdge(String(j), String(i)); });
  return graphlib.alg.topsort(g).map(Number);
}

/**
 * Where the IR ids of a DAG's original tasks are now: the original position of an id (`index`
 * at depth 0 with `stamp`, valid until the DAG is chunked) -> current task (`cur`).
 */
interface Placement {
  readonly index: IdIndex;
  readonly stamp: number;
  readonly cur: Int32Array;
}

/**
 * A task that runs the tasks at `members` (positions, in order) as the sub-DAG `<template>`; its
 * Argo task name is `name`. `chunkOf` gives every current position's chunk.
 */
function chunkTask(tasks: readonly LTask[], members: readonly number[], k: number, chunkOf: Int32Array, at: Placement, template: string, name: string, names: NameRegistry): LTask {
  const contains: number[] = [];
  // Filled by push, as the lowering pass fills a DAG's list: a list made with `new Array(n)` has
  // holes for V8, and code optimized for one kind of list is dropped when it meets the other.
  const inner: LTask[] = [];
  for (let m = 0; m < members.length; m++) {
    const t = tasks[members[m]!]!;
    inner.push(t);
    const tc = t.contains;
    for (let i = 0; i < tc.length; i++) contains.push(tc[i]!);
  }
  // What the chunk waits for: its tasks' dependencies outside it (inside ones order the chunk's own DAG).
  const uses = new Set<number>();
  for (let m = 0; m < inner.length; m++) {
    const tu = inner[m]!.uses;
    for (let i = 0; i < tu.length; i++) {
      const u = tu[i]!;
      const j = at.index.find(0, at.stamp, u);
      if (j >= 0 && chunkOf[at.cur[j]!] === k) continue;
      uses.add(u);
    }
  }
  const dag: LDag = { name: names.take(template), tasks: inner };
  return { id: `${dag.name}/chunk`, name, call: dag, params: [], arts: [], contains, uses: [...uses] };
}

/**
 * Orders every DAG reachable from `D` and splits the ones over `max` tasks. Mutates the L form.
 * `ids`: how many IR id numbers the scope of `D` has.
 */
export function fitLimits(D: LDag, names: NameRegistry, ids: number, max = MAX_DAG_TASKS): void {
  fit(D, names, max, new IdIndex(ids), new Set(), new Map());
}

function fit(D: LDag, names: NameRegistry, max: number, index: IdIndex, seen: Set<LDag>, known: Map<LDag, number[][]>): void {
  if (seen.has(D)) return;
  seen.add(D);
  let tasks = D.tasks;
  let preds: number[][];
  let at: Placement | undefined;
  const given = known.get(D);
  if (given) preds = given;
  else {
    const p = predecessors(tasks, index);
    preds = p.preds;
    if (tasks.length > max) at = { index, stamp: p.stamp, cur: identity(tasks.length) };
  }
  let { order, level } = levels(preds);
  let round = 0;
  while (order.length > max) {
    round++;
    const chunks = group(order, level, max);
    const { chunkOf, local } = layout(chunks, tasks.length);
    const prefix = round === 1 ? `${D.name}-c` : `${D.name}-c${round}-`;
    const place = at!;
    const next: LTask[] = new Array(chunks.length);
    // Predecessors of the chunks, and of the tasks inside each chunk, from the tasks' own.
    const chunkPreds: number[][] = new Array(chunks.length);
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k]!;
      const task = (next[k] = chunkTask(tasks, c, k, chunkOf, place, `${prefix}${k}`, `c${k}`, names));
      const ps: number[] = [];
      known.set(task.call as LDag, innerPredecessors(c, k, preds, chunkOf, local, ps));
      chunkPreds[k] = ps;
    }
    moveTo(place.cur, chunkOf);
    tasks = D.tasks = next;
    preds = chunkPreds;
    ({ order, level } = levels(preds));
  }
  D.tasks = reorder(tasks, order);
  fitChildren(D.tasks, names, max, index, seen, known);
}

function fitChildren(tasks: readonly LTask[], names: NameRegistry, max: number, index: IdIndex, seen: Set<LDag>, known: Map<LDag, number[][]>): void {
  for (let i = 0; i < tasks.length; i++) {
    const call = tasks[i]!.call;
    if (typeof call !== 'string') fit(call, names, max, index, seen, known);
  }
}

/*
 * Each loop over a DAG's tasks is a small function of its own: V8 optimizes (and recompiles on
 * loop entry) a function whose loop runs long, and in a fresh process compiling one large
 * function several times cost more than running its loops.
 */

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Chunks of at most `max` positions, following `order`: a whole level when it fits, else the current chunk is filled up first. */
function group(order: Int32Array, level: Int32Array, max: number): number[][] {
  const chunks: number[][] = [];
  let cur: number[] = [];
  for (let i = 0; i < order.length;) {
    let j = i;
    const l = level[i]!;
    while (j < order.length && level[j] === l) j++;
    const size = j - i;
    if (cur.length + size <= max) { for (; i < j; i++) cur.push(order[i]!); continue; }
    if (cur.length) { chunks.push(cur); cur = []; continue; }
    chunks.push(Array.from(order.subarray(i, i + max)));
    i += max;
  }
  if (cur.length) chunks.push(cur);
  return chunks;
}

/** Each position's chunk and its place in the chunk. */
function layout(chunks: readonly (readonly number[])[], n: number): { chunkOf: Int32Array; local: Int32Array } {
  const chunkOf = new Int32Array(n);
  const local = new Int32Array(n);
  for (let k = 0; k < chunks.length; k++) {
    const c = chunks[k]!;
    for (let m = 0; m < c.length; m++) { chunkOf[c[m]!] = k; local[c[m]!] = m; }
  }
  return { chunkOf, local };
}

/** The predecessors of chunk `k`'s tasks inside it (local positions); adds the other chunks it waits for to `ps`. */
function innerPredecessors(c: readonly number[], k: number, preds: readonly (readonly number[])[], chunkOf: Int32Array, local: Int32Array, ps: number[]): number[][] {
  const inner: number[][] = new Array(c.length);
  for (let m = 0; m < c.length; m++) {
    let own: number[] | undefined;
    const p = preds[c[m]!]!;
    for (let i = 0; i < p.length; i++) {
      const j = p[i]!;
      const q = chunkOf[j]!;
      if (q === k) { if (own) own.push(local[j]!); else own = [local[j]!]; }
      else if (!ps.includes(q)) ps.push(q);
    }
    inner[m] = own ?? [];
  }
  return inner;
}

function moveTo(cur: Int32Array, chunkOf: Int32Array): void {
  for (let o = 0; o < cur.length; o++) cur[o] = chunkOf[cur[o]!]!;
}

/** The tasks in `order`, in a list without holes (see `chunkTask`). */
function reorder(tasks: readonly LTask[], order: Int32Array): LTask[] {
  const ordered: LTask[] = [];
  for (let i = 0; i < order.length; i++) ordered.push(tasks[order[i]!]!);
  return ordered;
}
