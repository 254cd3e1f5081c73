/**
 * Limits pass (internal): orders each DAG topologically and nests DAGs with more tasks than Argo
 * accepts (200 per DAG in v4's CRD) into chunk templates. Chunks follow dependency levels, so a
 * wide fan-out becomes one chunk per 200 independent tasks that wait only for their real
 * producers' chunk; references across chunks become chunk inputs/outputs in the render pass.
 */
import * as graphlib from '@dagrejs/graphlib';
import type { NameRegistry } from './names.ts';
import type { LDag, LTask } from './lower.ts';

const MAX_DAG_TASKS = 200;

/**
 * Each task's predecessors in `tasks` (positions), from the IR ids it uses; and the position of
 * every IR id the tasks contain. Built once per DAG: chunks derive theirs from these positions.
 */
function predecessors(tasks: readonly LTask[]): { preds: number[][]; byId: Map<string, number> } {
  const n = tasks.length;
  const byId = new Map<string, number>();
  for (let i = 0; i < n; i++) for (const id of tasks[i]!.contains) byId.set(id, i);
  const preds: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const ps: number[] = [];
    for (const id of tasks[i]!.uses) {
      const j = byId.get(id);
      if (j === undefined || j === i || ps.includes(j)) continue;
      ps.push(j);
    }
    preds[i] = ps;
  }
  return { preds, byId };
}

/** Positions in a stable topological order, with each one's dependency level (same index). */
function levels(preds: readonly (readonly number[])[]): { order: Int32Array; level: Int32Array } {
  const n = preds.length;
  let inOrder = true;
  for (let i = 0; i < n && inOrder; i++) for (const j of preds[i]!) if (j > i) { inOrder = false; break; }
  // Builders emit nodes in dependency order: keep it when it already is a topological order (this
  // also avoids graphlib's recursive topsort on long chains). Cycles were reported by validation.
  const sorted = inOrder ? undefined : topsort(n, preds);
  const lv = new Int32Array(n);
  let maxLevel = 0;
  for (let k = 0; k < n; k++) {
    const i = sorted ? sorted[k]! : k;
    let l = 0;
    for (const j of preds[i]!) if (lv[j]! + 1 > l) l = lv[j]! + 1;
    lv[i] = l;
    if (l > maxLevel) maxLevel = l;
  }
  // Stable counting sort by level.
  const start = new Int32Array(maxLevel + 2);
  for (let i = 0; i < n; i++) start[lv[i]! + 1]!++;
  for (let l = 1; l < start.length; l++) start[l]! += start[l - 1]!;
  const order = new Int32Array(n);
  const level = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const at = start[lv[i]!]!++;
    order[at] = i;
    level[at] = lv[i]!;
  }
  return { order, level };
}

function topsort(n: number, preds: readonly (readonly number[])[]): number[] {
  const g = new graphlib.Graph({ directed: true, multigraph: false, compound: false });
  for (let i = 0; i < n; i++) g.setNode(String(i));
  preds.forEach((ps, i) => { for (const j of ps) g.setEdge(String(j), String(i)); });
  return graphlib.alg.topsort(g).map(Number);
}

/** Where the IR ids of a DAG's original tasks are now: original position -> current task. */
interface Placement {
  readonly byId: ReadonlyMap<string, number>;
  cur: Int32Array;
}

/**
 * A task that runs the tasks at `members` (positions, in order) as the sub-DAG `<template>`; its
 * Argo task name is `name`. `chunkOf` gives every current position's chunk.
 */
function chunkTask(tasks: readonly LTask[], members: readonly number[], k: number, chunkOf: Int32Array, at: Placement, template: string, name: string, names: NameRegistry): LTask {
  const contains: string[] = [];
  const inner: LTask[] = new Array(members.length);
  for (let m = 0; m < members.length; m++) {
    const t = (inner[m] = tasks[members[m]!]!);
    for (const c of t.contains) contains.push(c);
  }
  // What the chunk waits for: its tasks' dependencies outside it (inside ones order the chunk's own DAG).
  const uses = new Set<string>();
  for (const t of inner) {
    for (const u of t.uses) {
      const j = at.byId.get(u);
      if (j !== undefined && chunkOf[at.cur[j]!] === k) continue;
      uses.add(u);
    }
  }
  const dag: LDag = { name: names.take(template), tasks: inner };
  return { id: `${dag.name}/chunk`, name, call: dag, params: [], arts: [], contains, uses: [...uses] };
}

/** Orders every DAG reachable from `D` and splits the ones over `max` tasks. Mutates the L form. */
export function fitLimits(D: LDag, names: NameRegistry, max = MAX_DAG_TASKS, seen = new Set<LDag>(), known = new Map<LDag, number[][]>()): void {
  if (seen.has(D)) return;
  seen.add(D);
  let tasks = D.tasks;
  let preds: number[][];
  let at: Placement | undefined;
  const given = known.get(D);
  if (given) preds = given;
  else {
    const p = predecessors(tasks);
    preds = p.preds;
    if (tasks.length > max) at = { byId: p.byId, cur: Int32Array.from({ length: tasks.length }, (_, i) => i) };
  }
  let { order, level } = levels(preds);
  let round = 0;
  while (order.length > max) {
    round++;
    const chunks: number[][] = [];
    let cur: number[] = [];
    for (let i = 0; i < order.length;) {
      // Take the whole level when it fits, else fill up the current chunk and go on.
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
    const chunkOf = new Int32Array(tasks.length);
    const local = new Int32Array(tasks.length);
    chunks.forEach((c, k) => c.forEach((pos, m) => { chunkOf[pos] = k; local[pos] = m; }));
    const prefix = round === 1 ? `${D.name}-c` : `${D.name}-c${round}-`;
    const place = at!;
    const next = chunks.map((c, k) => chunkTask(tasks, c, k, chunkOf, place, `${prefix}${k}`, `c${k}`, names));
    // Predecessors of the chunks, and of the tasks inside each chunk, from the tasks' own.
    const chunkPreds: number[][] = chunks.map((c, k) => {
      const ps: number[] = [];
      for (const pos of c) for (const j of preds[pos]!) { const q = chunkOf[j]!; if (q !== k && !ps.includes(q)) ps.push(q); }
      return ps;
    });
    chunks.forEach((c, k) => known.set(next[k]!.call as LDag, c.map((pos) => {
      const ps: number[] = [];
      for (const j of preds[pos]!) if (chunkOf[j] === k) ps.push(local[j]!);
      return ps;
    })));
    for (let o = 0; o < place.cur.length; o++) place.cur[o] = chunkOf[place.cur[o]!]!;
    tasks = D.tasks = next;
    preds = chunkPreds;
    ({ order, level } = levels(preds));
  }
  const ordered: LTask[] = new Array(order.length);
  for (let i = 0; i < order.length; i++) ordered[i] = tasks[order[i]!]!;
  D.tasks = ordered;
  for (const L of D.tasks) if (typeof L.call !== 'string') fitLimits(L.call, names, max, seen, known);
}
