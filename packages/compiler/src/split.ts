/**
 * Limits pass (internal): orders each DAG topologically and nests DAGs with more tasks than Argo
 * accepts (200 per DAG in v4's CRD) into chunk templates. Chunks follow dependency levels, so a
 * wide fan-out becomes one chunk per 200 independent tasks that wait only for their real
 * producers' chunk; references across chunks become chunk inputs/outputs in the render pass.
 */
import * as graphlib from '@dagrejs/graphlib';
import type { NameRegistry } from './names.ts';
import type { LDag, LTask } from './lower.ts';

export const MAX_DAG_TASKS = 200;

/** Tasks of `D` in a stable topological order, with each task's dependency level. */
function levels(D: LDag): { order: LTask[]; level: Map<LTask, number> } {
  const byId = new Map<string, number>();
  D.tasks.forEach((L, i) => { for (const id of L.contains) byId.set(id, i); });
  const preds: number[][] = D.tasks.map(() => []);
  D.tasks.forEach((L, i) => {
    for (const id of L.uses) {
      const j = byId.get(id);
      if (j !== undefined && j !== i && !preds[i]!.includes(j)) preds[i]!.push(j);
    }
  });
  const topsort = (): number[] => {
    const g = new graphlib.Graph({ directed: true, multigraph: false, compound: false });
    D.tasks.forEach((_, i) => g.setNode(String(i)));
    preds.forEach((ps, i) => { for (const j of ps) g.setEdge(String(j), String(i)); });
    return graphlib.alg.topsort(g).map(Number);
  };
  // Builders emit nodes in dependency order: keep it when it already is a topological order (this
  // also avoids graphlib's recursive topsort on long chains). Cycles were reported by validation.
  const inOrder = preds.every((ps, i) => ps.every((j) => j < i));
  const sorted = inOrder ? D.tasks.map((_, i) => i) : topsort();
  const lv: number[] = D.tasks.map(() => 0);
  for (const i of sorted) for (const j of preds[i]!) lv[i] = Math.max(lv[i]!, lv[j]! + 1);
  const order = D.tasks.map((L, i) => ({ L, i, l: lv[i]! })).sort((a, b) => a.l - b.l || a.i - b.i);
  return { order: order.map((o) => o.L), level: new Map(order.map((o) => [o.L, o.l])) };
}

function chunkTask(tasks: LTask[], name: string, names: NameRegistry): LTask {
  const contains: string[] = [];
  const uses = new Set<string>();
  for (const t of tasks) { contains.push(...t.contains); for (const u of t.uses) uses.add(u); }
  const dag: LDag = { name: names.take(name), tasks };
  return { id: `${dag.name}/chunk`, name: dag.name, call: dag, params: [], arts: [], contains, uses: [...uses] };
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
      const l = level.get(order[i]!)!;
      while (j < order.length && level.get(order[j]!) === l) j++;
      const size = j - i;
      if (cur.length + size <= max) { cur.push(...order.slice(i, j)); i = j; continue; }
      if (cur.length) { chunks.push(cur); cur = []; continue; }
      chunks.push(order.slice(i, i + max));
      i += max;
    }
    if (cur.length) chunks.push(cur);
    const prefix = round === 1 ? `${D.name}-c` : `${D.name}-c${round}-`;
    D.tasks = chunks.map((c, k) => ({ ...chunkTask(c, `${prefix}${k}`, names), name: `c${k}` }));
    ({ order, level } = levels(D));
  }
  D.tasks = order;
  for (const L of D.tasks) if (typeof L.call !== 'string') fitLimits(L.call, names, max, seen);
}
