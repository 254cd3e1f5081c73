import type { NodeIR, PipelineIR } from '@sluice/sdk';
import { nodeDeps } from '../engine/values.ts';

const collator = new Intl.Collator('en', { numeric: true });

/** Text order with numbers compared as numbers: `partitions[1]`, `partitions[2]`, `partitions[10]`. */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

interface Scope { readonly rank: ReadonlyMap<string, number>; readonly nested: ReadonlyMap<string, Scope> }

/** Nodes of one DAG list in dependency order (declaration order among independent nodes), children after their parent. */
function flatten(nodes: readonly NodeIR[], ir: PipelineIR, out: string[], nested: Map<string, Scope>, seen: Set<string>): void {
  const ids = new Set(nodes.map((n) => n.id));
  const placed = new Set<string>();
  const remaining = [...nodes];
  while (remaining.length) {
    let i = remaining.findIndex((n) => nodeDeps(n).every((d) => !ids.has(d) || placed.has(d)));
    if (i < 0) i = 0; // a cycle cannot run anyway: keep declaration order
    const n = remaining.splice(i, 1)[0] as NodeIR;
    placed.add(n.id);
    out.push(n.id);
    if (n.kind === 'condition') {
      flatten(n.then, ir, out, nested, seen);
      flatten(n.else, ir, out, nested, seen);
    } else if (n.kind === 'loop') flatten(n.body, ir, out, nested, seen);
    else {
      const c = ir.components[n.component];
      if (c?.kind === 'pipeline' && !seen.has(n.component)) {
        seen.add(n.component);
        nested.set(n.id, scopeOf(c.dag, [], ir, seen));
        seen.delete(n.component);
      }
    }
  }
}

function scopeOf(dag: readonly NodeIR[], extra: readonly NodeIR[], ir: PipelineIR, seen: Set<string>): Scope {
  const order: string[] = [];
  const nested = new Map<string, Scope>();
  flatten(dag, ir, order, nested, seen);
  flatten(extra, ir, order, nested, seen);
  return { rank: new Map(order.map((id, i) => [id, i])), nested };
}

const SEGMENT = /^(.*?)(?:\[(\d+)\])?$/;

/**
 * Orders task instance keys of a run as the DAG runs them: dependencies first, a condition's or
 * loop's tasks after it, loop iterations by index (numerically), the exit handler last, and a
 * nested pipeline's tasks after the task that runs it. Keys the IR does not know go last, in
 * natural order.
 */
export function dagOrder(ir: PipelineIR): (a: string, b: string) => number {
  const sortKey = dagSortKey(ir);
  const cache = new Map<string, readonly number[]>();
  const get = (k: string) => {
    let v = cache.get(k);
    if (!v) cache.set(k, (v = sortKey(k)));
    return v;
  };
  return (a, b) => compareSortKeys(get(a), get(b)) || naturalCompare(a, b);
}

/** The numbers {@link dagOrder} compares for a key (ranks and loop indices, segment by segment). */
export function dagSortKey(ir: PipelineIR): (key: string) => readonly number[] {
  const root = scopeOf(ir.dag, ir.exitHandler ? [ir.exitHandler] : [], ir, new Set());
  return (key: string): number[] => {
    const out: number[] = [];
    let scope: Scope | undefined = root;
    for (const seg of key.split('/')) {
      const m = SEGMENT.exec(seg) as RegExpExecArray;
      const id = m[1] as string;
      const rank = scope?.rank.get(id);
      if (rank === undefined) return [...out, Number.MAX_SAFE_INTEGER];
      out.push(rank, m[2] === undefined ? -1 : Number(m[2]));
      scope = m[2] === undefined ? scope?.nested.get(id) ?? scope : scope;
    }
    return out;
  };
}

function compareSortKeys(x: readonly number[], y: readonly number[]): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}

/**
 * Items sorted by their task keys in {@link dagOrder} (each key's sort key computed once, then
 * compared as numbers: ~10,000 loop iterations sort in a few milliseconds).
 */
export function sortByDagOrder<T>(items: readonly T[], keyOf: (x: T) => string, ir: PipelineIR | null): T[] {
  if (!ir) return [...items].sort((a, b) => naturalCompare(keyOf(a), keyOf(b)));
  const sortKey = dagSortKey(ir);
  const decorated = items.map((item) => {
    const key = keyOf(item);
    return { item, key, rank: sortKey(key) };
  });
  decorated.sort((a, b) => compareSortKeys(a.rank, b.rank) || naturalCompare(a.key, b.key));
  return decorated.map((d) => d.item);
}
