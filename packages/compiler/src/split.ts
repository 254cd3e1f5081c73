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

/** Tasks of `D` in a stable topological order, with each task's dependency level (same index). */
function levels(D: LDag): { order: LTask[]; level: Int32Array } {
  const tasks = D.tasks;
  const n = tasks.length;
  const byId = new Map<string, number>();
  for (let i = 0; i < n; i++) for (const id of tasks[i]!.contains) byId.set(id, i);
  const preds: number[][] = new Array(n);
  let inOrder = true;
  for (let i = 0; i < n; i++) {
    const ps: number[] = [];
    for (const id of tasks[i]!.uses) {
      const j = byId.get(id);
      if (j === undefined || j === i || ps.includes(j)) continue;
      ps.push(j);
      if (j > i) inOrder = false;
    }
    preds[i] = ps;
  }
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
  const order: LTask[] = new Array(n);
  const level = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const at = start[lv[i]!]!++;
    order[at] = tasks[i]!;
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

/** A task that runs `tasks` as the sub-DAG `<template>`; its Argo task name is `name`. */
function chunkTask(tasks: LTask[], template: string, name: string, names: NameRegistry): LTask {
  const contains: string[] = [];
  const inside = new Set<string>();
  for (const t of tasks) for (const c of t.contains) { contains.push(c); inside.add(c); }
  // What the chunk waits for: its tasks' dependencies outside it (inside ones order the chunk's own DAG).
  const uses = new Set<string>();
  for (const t of tasks) for (const u of t.uses) if (!inside.has(u)) uses.add(u);
  const dag: LDag = { name: names.take(template), tasks };
  return { id: `${dag.name}/chunk`, name, call: dag, params: [], arts: [], contains, uses: [...uses] };
}

/** Orders every DAG reachable from `D` and splits the ones over `max` tasks. Mutates the L form. */
export function fitLimits(D: LDag, names: NameRegistry, max = MAX_DAG_TASKS, seen = new Set<LDag>()): void {
  if (seen.has(D)) return;
  seen.add(D);
  let { order, level } = levels(D);
  let round = 0;
  while (order.length > max) {
    round++;
    const chunks: LTask[][] = [];
    let cur: LTask[] = [];
    for (let i = 0; i < order.length;) {
      // Take the whole level when it fits, else fill up the current chunk and go on.
      let j = i;
      const l = level[i]!;
      while (j < order.length && level[j] === l) j++;
      const size = j - i;
      if (cur.length + size <= max) { for (; i < j; i++) cur.push(order[i]!); continue; }
      if (cur.length) { chunks.push(cur); cur = []; continue; }
      chunks.push(order.slice(i, i + max));
      i += max;
    }
    if (cur.length) chunks.push(cur);
    const prefix = round === 1 ? `${D.name}-c` : `${D.name}-c${round}-`;
    D.tasks = chunks.map((c, k) => chunkTask(c, `${prefix}${k}`, `c${k}`, names));
    ({ order, level } = levels(D));
  }
  D.tasks = order;
  for (const L of D.tasks) if (typeof L.call !== 'string') fitLimits(L.call, names, max, seen);
}
