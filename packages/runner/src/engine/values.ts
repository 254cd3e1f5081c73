import type { JsonValue, NodeIR, PredicateIR, ValueIR } from '@sluice/sdk';
import { canonicalJson } from '../util/json.ts';
import type { RuntimeValue } from './types.ts';

/** Static facts about one DAG (a pipeline's, or a nested pipeline component's). */
export interface DagInfo {
  readonly nodes: ReadonlyMap<string, NodeIR>;
  /** Enclosing loops of each node, outermost first. */
  readonly loopsOf: ReadonlyMap<string, readonly string[]>;
}

const infoCache = new WeakMap<readonly NodeIR[], DagInfo>();

export function dagInfo(dag: readonly NodeIR[], extra: readonly NodeIR[] = []): DagInfo {
  const hit = infoCache.get(dag);
  if (hit) return hit;
  const nodes = new Map<string, NodeIR>();
  const loopsOf = new Map<string, readonly string[]>();
  const walk = (list: readonly NodeIR[], loops: readonly string[]) => {
    for (const n of list) {
      nodes.set(n.id, n);
      loopsOf.set(n.id, loops);
      if (n.kind === 'condition') {
        walk(n.then, loops);
        walk(n.else, loops);
      } else if (n.kind === 'loop') walk(n.body, [...loops, n.id]);
    }
  };
  walk(dag, []);
  walk(extra, []);
  const info = { nodes, loopsOf };
  infoCache.set(dag, info);
  return info;
}

/** Ids of the nodes a value reads from (an output's task, a collect's loop, a oneOf's condition). */
export function valueDeps(v: ValueIR, out: Set<string>): void {
  switch (v.kind) {
    case 'output': out.add(v.task); break;
    case 'collect': out.add(v.loop); break;
    case 'oneOf': out.add(v.condition); break;
    default: break;
  }
}

export function predicateDeps(p: PredicateIR, out: Set<string>): void {
  switch (p.kind) {
    case 'compare': valueDeps(p.left, out); valueDeps(p.right, out); break;
    case 'and': case 'or': for (const a of p.args) predicateDeps(a, out); break;
    case 'not': predicateDeps(p.arg, out); break;
  }
}

const depCache = new WeakMap<NodeIR, readonly string[]>();
/** Everything a node waits for: `after` plus the nodes its inputs, predicate or items read from. */
export function nodeDeps(n: NodeIR): readonly string[] {
  const hit = depCache.get(n);
  if (hit) return hit;
  const s = new Set<string>(n.after);
  if (n.kind === 'task') for (const v of Object.values(n.inputs)) valueDeps(v, s);
  else if (n.kind === 'condition') predicateDeps(n.predicate, s);
  else valueDeps(n.items, s);
  const r = [...s];
  depCache.set(n, r);
  return r;
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  if (typeof v === 'boolean') return undefined;
  return undefined;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : canonicalJson(v);
}

/**
 * Compares like Argo's `when` expressions on substituted text: numbers (or numeric strings)
 * numerically, everything else as text (`true` == "true").
 */
export function compare(op: string, a: RuntimeValue, b: RuntimeValue): boolean {
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== undefined && nb !== undefined) {
    switch (op) {
      case '==': return na === nb;
      case '!=': return na !== nb;
      case '<': return na < nb;
      case '<=': return na <= nb;
      case '>': return na > nb;
      case '>=': return na >= nb;
    }
  }
  const ta = text(a);
  const tb = text(b);
  switch (op) {
    case '==': return ta === tb;
    case '!=': return ta !== tb;
    case '<': return ta < tb;
    case '<=': return ta <= tb;
    case '>': return ta > tb;
    case '>=': return ta >= tb;
  }
  throw new Error(`unknown comparison ${op}`);
}

export function evalPredicate(p: PredicateIR, value: (v: ValueIR) => RuntimeValue): boolean {
  switch (p.kind) {
    case 'compare': return compare(p.op, value(p.left), value(p.right));
    case 'and': return p.args.every((a) => evalPredicate(a, value));
    case 'or': return p.args.some((a) => evalPredicate(a, value));
    case 'not': return !evalPredicate(p.arg, value);
  }
}

export function walkPath(v: JsonValue, path: readonly string[], what: string): JsonValue {
  let cur: JsonValue = v;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !(k in cur)) throw new Error(`${what}: the loop item has no field "${path.join('.')}"`);
    cur = (cur as Record<string, JsonValue>)[k] as JsonValue;
  }
  return cur;
}
