import type { ComponentIR, JsonValue, NodeIR, PredicateIR, TaskIR, ValueIR } from '@sluice/sdk';
import { compareMode, compareValues } from '@sluice/sdk/semantics';
import { SluiceValidationError } from '@sluice/sdk/errors';
import { validatePipelineIR } from '@sluice/sdk/validate';
import type { PipelineIR } from '@sluice/sdk';
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

/**
 * Evaluates a condition's predicate with the SDK's comparison rule (the mode written in the IR:
 * numbers when either side is declared numeric, else text), as the compiled `when` does on Argo.
 */
export function evalPredicate(p: PredicateIR, value: (v: ValueIR) => RuntimeValue): boolean {
  switch (p.kind) {
    case 'compare': return compareValues(p.op, value(p.left), value(p.right), compareMode(p));
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

/**
 * The instance key of node `id` in a scope (shared by the engine and the dry run): the scope's
 * base, then `loop[i]/` for each enclosing loop whose iteration the scope is in; a loop the scope
 * is not inside names the loop itself (`base + loop`).
 */
export function instanceKey(base: string, dag: DagInfo, items: ReadonlyMap<string, { readonly index: number | '*' }>, id: string): string | undefined {
  const loops = dag.loopsOf.get(id);
  if (!loops) return undefined;
  let acc = base;
  for (const l of loops) {
    const it = items.get(l);
    if (!it) return acc + l;
    acc += `${l}[${it.index}]/`;
  }
  return acc + id;
}

/**
 * A task's inputs as the step receives them: every bound input resolved by `value`, then the
 * component's defaults for parameters left out. Shared by the engine and the dry run.
 */
export function taskInputs<V>(t: TaskIR, comp: ComponentIR, value: (v: ValueIR, name: string) => V): Record<string, V | JsonValue> {
  const inputs: Record<string, V | JsonValue> = {};
  for (const [name, v] of Object.entries(t.inputs)) inputs[name] = value(v, name);
  for (const [name, io] of Object.entries(comp.inputs)) {
    if (!(name in inputs) && io.kind === 'parameter' && io.default !== undefined) inputs[name] = io.default;
  }
  return inputs;
}

/**
 * Refuses an IR that `compile()` would refuse for the same reasons (the SDK's `validatePipelineIR`:
 * duplicate ids, references to nothing, ids starting with a digit, an empty pipeline, ...), before
 * anything runs. Used by `runPipeline` and the dry run.
 */
export function checkRunnable(ir: PipelineIR): void {
  const issues = validatePipelineIR(ir);
  if (issues.length) throw new SluiceValidationError(issues);
}
