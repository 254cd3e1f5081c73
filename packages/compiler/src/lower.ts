/**
 * Lowering pass (internal): IR nodes -> an intermediate DAG ("L" form) whose references are still
 * symbolic. A later pass may regroup tasks (chunking for Argo's limits) and the render pass turns
 * references into `{{...}}` tags according to where each one ends up.
 */
import type {
  ComponentIR, ConditionIR, IOSpec, JsonValue, LoopIR, NodeIR, NodeKind, ParamType, PipelineComponentIR, PredicateIR, PredicateKind,
  TaskIR, ValueIR, ValueKind,
} from '@sluice/sdk';
import { argoParamName } from './names.ts';
import { encodeLiteral, leafTemplateFor, paramText, type TemplateContext } from './templates.ts';

export type Ref =
  | { readonly k: 'out'; readonly task: string; readonly output: string; readonly art: boolean }
  | { readonly k: 'param'; readonly name: string; readonly art: boolean }
  | { readonly k: 'item'; readonly loop: string; readonly path: readonly string[] }
  | { readonly k: 'oneOf'; readonly condition: string; readonly options: readonly { readonly task: string; readonly output: string }[]; readonly art: boolean }
  | { readonly k: 'status' };

export type ArgVal = { readonly k: 'lit'; readonly text: string } | Ref;
export type Operand = { readonly lit: JsonValue } | { readonly ref: Ref; readonly type: ParamType | 'artifact' };
export type PredL =
  | { readonly k: 'cmp'; readonly op: string; readonly l: Operand; readonly r: Operand }
  | { readonly k: 'and' | 'or'; readonly args: readonly PredL[] }
  | { readonly k: 'not'; readonly arg: PredL };

export interface LTask {
  /** IR id of the node (or a derived id such as `cond/else`). */
  readonly id: string;
  /** Proposed Argo task name. */
  readonly name: string;
  readonly call: string | LDag;
  readonly params: readonly { readonly name: string; readonly val: ArgVal }[];
  readonly arts: readonly { readonly name: string; readonly ref: Ref }[];
  readonly when?: { readonly pred: PredL; readonly negate: boolean };
  readonly items?: { readonly k: 'items'; readonly value: readonly JsonValue[] } | Ref;
  /** The loop whose `{{item}}` this task expands. */
  readonly loop?: string;
  /** IR ids inside this task (itself included): references to them resolve through it. */
  readonly contains: readonly string[];
  /** IR ids this task (or anything inside it) waits for. */
  readonly uses: readonly string[];
}

export interface LDag {
  readonly name: string;
  tasks: LTask[];
  readonly parallelism?: number;
}

/** A closed scope: the root pipeline, the exit handler, or a nested pipeline component. */
export interface Scope {
  readonly root: boolean;
  readonly params: { readonly [name: string]: IOSpec };
  readonly taskComp: ReadonlyMap<string, ComponentIR>;
  readonly conditions: ReadonlySet<string>;
  readonly path: string;
}

export interface LowerContext extends TemplateContext {
  /** Nested pipeline components: hash -> template name (rendered by the caller of `lower`). */
  readonly nested: Map<string, string>;
  readonly requestNested: (hash: string, comp: PipelineComponentIR) => string;
}

export function scanScope(dag: readonly NodeIR[], ir: { readonly components: { readonly [h: string]: ComponentIR } }, extra: readonly TaskIR[] = []) {
  const taskComp = new Map<string, ComponentIR>();
  const conditions = new Set<string>();
  const walk = (nodes: readonly NodeIR[]): void => {
    for (const n of nodes) {
      if (n.kind === 'task') { const c = ir.components[n.component]; if (c) taskComp.set(n.id, c); }
      else if (n.kind === 'condition') { conditions.add(n.id); walk(n.then); walk(n.else); }
      else walk(n.body);
    }
  };
  walk(dag);
  for (const t of extra) { const c = ir.components[t.component]; if (c) taskComp.set(t.id, c); }
  return { taskComp, conditions };
}

function outSpec(scope: Scope, task: string, output: string): IOSpec | undefined {
  return scope.taskComp.get(task)?.outputs[output];
}

type ValueLowerer = (v: ValueIR, scope: Scope, ctx: LowerContext, path: string, toContainer: boolean) => ArgVal;

const VALUE: Record<ValueKind, ValueLowerer> = {
  literal: (v, _s, ctx, path, toContainer) => {
    const text = paramText((v as { value: JsonValue }).value);
    if (toContainer && text.includes('{{')) {
      ctx.issues.push({ code: 'argo.template', path, message: `literal ${JSON.stringify(text)} contains "{{", which Argo would read as a template expression`, hint: 'container components cannot receive "{{" safely from the manifest; pass it as a pipeline parameter or use a function component' });
    }
    return { k: 'lit', text: encodeLiteral(text) };
  },
  param: (v, scope) => {
    const name = (v as { name: string }).name;
    return { k: 'param', name, art: scope.params[name]?.kind === 'artifact' };
  },
  output: (v, scope) => {
    const o = v as { task: string; output: string };
    return { k: 'out', task: o.task, output: o.output, art: outSpec(scope, o.task, o.output)?.kind === 'artifact' };
  },
  item: (v, _s, ctx, path) => {
    const i = v as { loop: string; path: readonly string[] };
    if (i.path.length > 1) ctx.issues.push({ code: 'argo.item', path, message: `uses the item field ${i.path.join('.')}; Argo substitutes only top-level item fields`, hint: 'make the loop items flat objects' });
    return { k: 'item', loop: i.loop, path: i.path };
  },
  collect: (v, scope, ctx, path) => {
    const c = v as { task: string; output: string };
    const art = outSpec(scope, c.task, c.output)?.kind === 'artifact';
    if (art) ctx.issues.push({ code: 'argo.collect', path, message: `collects artifact "${c.output}" over a loop; Argo aggregates only parameters`, hint: 'collect a parameter output (for example a URI) instead' });
    return { k: 'out', task: c.task, output: c.output, art };
  },
  oneOf: (v, scope) => {
    const o = v as { condition: string; options: readonly { task: string; output: string }[] };
    const first = o.options[0];
    return { k: 'oneOf', condition: o.condition, options: o.options.map((x) => ({ task: x.task, output: x.output })), art: first ? outSpec(scope, first.task, first.output)?.kind === 'artifact' : false };
  },
  status: () => ({ k: 'status' }),
};

/** IR ids a value waits for. */
function producers(v: ValueIR, scope: Scope, into: string[]): void {
  if (v.kind === 'output') into.push(v.task);
  else if (v.kind === 'collect') into.push(v.loop);
  else if (v.kind === 'oneOf') { into.push(v.condition, `${v.condition}/else`); }
  void scope;
}

function afterIds(after: readonly string[], scope: Scope, into: string[]): void {
  for (const a of after) {
    into.push(a);
    if (scope.conditions.has(a)) into.push(`${a}/else`);
  }
}

function operandType(v: ValueIR, scope: Scope): ParamType | 'artifact' {
  const spec = v.kind === 'param' ? scope.params[v.name] : v.kind === 'output' ? outSpec(scope, v.task, v.output)
    : v.kind === 'oneOf' && v.options[0] ? outSpec(scope, v.options[0].task, v.options[0].output) : undefined;
  if (!spec) return 'any';
  return spec.kind === 'artifact' ? 'artifact' : spec.type;
}

const PRED: Record<PredicateKind, (p: PredicateIR, scope: Scope, ctx: LowerContext, path: string, uses: string[]) => PredL> = {
  compare: (p, scope, ctx, path, uses) => {
    const c = p as Extract<PredicateIR, { kind: 'compare' }>;
    const operand = (v: ValueIR): Operand => {
      producers(v, scope, uses);
      if (v.kind === 'literal') return { lit: v.value };
      return { ref: VALUE[v.kind](v, scope, ctx, path, false) as Ref, type: operandType(v, scope) };
    };
    return { k: 'cmp', op: c.op, l: operand(c.left), r: operand(c.right) };
  },
  and: (p, scope, ctx, path, uses) => ({ k: 'and', args: (p as { args: readonly PredicateIR[] }).args.map((a) => PRED[a.kind](a, scope, ctx, path, uses)) }),
  or: (p, scope, ctx, path, uses) => ({ k: 'or', args: (p as { args: readonly PredicateIR[] }).args.map((a) => PRED[a.kind](a, scope, ctx, path, uses)) }),
  not: (p, scope, ctx, path, uses) => ({ k: 'not', arg: PRED[(p as { arg: PredicateIR }).arg.kind]((p as { arg: PredicateIR }).arg, scope, ctx, path, uses) }),
};

type NodeLowerer = (node: NodeIR, scope: Scope, ctx: LowerContext) => LTask[];

function lowerTask(t: TaskIR, scope: Scope, ctx: LowerContext): LTask[] {
  const path = `${scope.path}/${t.id}`;
  const comp = ctx.ir.components[t.component];
  if (!comp) return []; // reported by validation
  const call = comp.kind === 'pipeline' ? ctx.requestNested(t.component, comp) : leafTemplateFor(t, t.component, comp, path, ctx);
  const params: { name: string; val: ArgVal }[] = [];
  const arts: { name: string; ref: Ref }[] = [];
  const uses: string[] = [];
  afterIds(t.after, scope, uses);
  for (const name in t.inputs) {
    const v = t.inputs[name]!;
    producers(v, scope, uses);
    const spec = comp.inputs[name];
    const val = VALUE[v.kind](v, scope, ctx, `${path}/inputs.${name}`, comp.kind === 'container');
    if (spec?.kind === 'artifact') {
      if (spec.list && v.kind !== 'collect') ctx.issues.push({ code: 'argo.collect', path: `${path}/inputs.${name}`, message: 'takes a list of artifacts; Argo passes artifacts one at a time', hint: 'collect a parameter output (for example a URI) instead' });
      if (val.k !== 'lit') arts.push({ name: argoParamName(name), ref: val });
    } else params.push({ name: argoParamName(name), val });
  }
  return [{ id: t.id, name: t.id, call, params, arts, contains: [t.id], uses }];
}

function lowerCondition(c: ConditionIR, scope: Scope, ctx: LowerContext): LTask[] {
  const uses: string[] = [];
  afterIds(c.after, scope, uses);
  const pred = PRED[c.predicate.kind](c.predicate, scope, ctx, `${scope.path}/${c.id}/predicate`, uses);
  const out: LTask[] = [];
  const branch = (nodes: readonly NodeIR[], id: string, name: string, negate: boolean): void => {
    if (!nodes.length) return;
    const dag = lowerDag(nodes, ctx.names.take(name), scope, ctx);
    const contains = [id];
    const inner = [...uses];
    for (const t of dag.tasks) { contains.push(...t.contains); inner.push(...t.uses); }
    out.push({ id, name, call: dag, params: [], arts: [], when: { pred, negate }, contains, uses: inner });
  };
  branch(c.then, c.id, c.id, false);
  branch(c.else, `${c.id}/else`, `${c.id}-else`, true);
  return out;
}

function lowerLoop(l: LoopIR, scope: Scope, ctx: LowerContext): LTask[] {
  const path = `${scope.path}/${l.id}`;
  const uses: string[] = [];
  afterIds(l.after, scope, uses);
  producers(l.items, scope, uses);
  let items: LTask['items'];
  if (l.items.kind === 'literal') {
    const value = Array.isArray(l.items.value) ? (l.items.value as readonly JsonValue[]) : [];
    if (JSON.stringify(value).includes('{{')) ctx.issues.push({ code: 'argo.template', path: `${path}/items`, message: 'loop items contain "{{", which Argo would read as a template expression', hint: 'pass the items as a pipeline parameter instead' });
    items = { k: 'items', value };
  } else items = VALUE[l.items.kind](l.items, scope, ctx, `${path}/items`, false) as Ref;
  const wrapName = l.parallelism !== undefined ? ctx.names.take(`${l.id}-par`) : undefined;
  const body = lowerDag(l.body, ctx.names.take(l.id), scope, ctx);
  const contains = [l.id];
  const inner = [...uses];
  for (const t of body.tasks) { contains.push(...t.contains); inner.push(...t.uses); }
  const loopTask: LTask = { id: l.id, name: l.id, call: body, params: [], arts: [], items, loop: l.id, contains, uses: inner };
  if (wrapName === undefined) return [loopTask];
  // Argo limits iterations running at once with `parallelism` on the template that holds the loop task.
  const wrapper: LDag = { name: wrapName, tasks: [loopTask], parallelism: l.parallelism! };
  return [{ id: `${l.id}/par`, name: l.id, call: wrapper, params: [], arts: [], contains, uses: inner }];
}

const NODE: Record<NodeKind, NodeLowerer> = {
  task: (n, s, c) => lowerTask(n as TaskIR, s, c),
  condition: (n, s, c) => lowerCondition(n as ConditionIR, s, c),
  loop: (n, s, c) => lowerLoop(n as LoopIR, s, c),
};

export function lowerDag(nodes: readonly NodeIR[], name: string, scope: Scope, ctx: LowerContext, parallelism?: number): LDag {
  const tasks: LTask[] = [];
  for (const n of nodes) for (const t of NODE[n.kind](n, scope, ctx)) tasks.push(t);
  return parallelism === undefined ? { name, tasks } : { name, tasks, parallelism };
}

/** Lowers a pipeline-level value binding (pipeline or nested pipeline outputs). */
export function lowerBinding(v: ValueIR, scope: Scope, ctx: LowerContext, path: string): ArgVal {
  return VALUE[v.kind](v, scope, ctx, path, false);
}

export function lowerExitTask(t: TaskIR, scope: Scope, ctx: LowerContext): LTask[] {
  return lowerTask(t, scope, ctx);
}
