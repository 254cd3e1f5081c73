/**
 * Lowering pass (internal): IR nodes -> an intermediate DAG ("L" form) whose references are still
 * symbolic. A later pass may regroup tasks (chunking for Argo's limits) and the render pass turns
 * references into `{{...}}` tags according to where each one ends up.
 */
import type {
  ComponentIR, ConditionIR, ContainerComponentIR, FunctionComponentIR, IOSpec, JsonValue, LoopIR, NodeIR, NodeKind, ParamType, PipelineComponentIR, PredicateIR, PredicateKind,
  TaskIR, TaskOptionsIR, ValueIR, ValueKind,
} from '@sluice/sdk';
import { compareMode, encodeBase64, literalNeedsEncoding } from '@sluice/sdk';
import { IdNumbers } from './ids.ts';
import { argoParamName } from './names.ts';
import {
  CACHE_KEY_OUTPUT, cacheKeyInput, cacheMode, collectKeyOutput, collectOrderInput, collectPrefix, effectiveOptions, leafTemplateFor, oneOfArtifactInput, paramText,
  type TemplateContext,
} from './templates.ts';

export type Ref =
  /** `n`: the task's id number in the scope ({@link Scope.ids}). */
  | { readonly k: 'out'; readonly task: string; readonly n: number; readonly output: string; readonly art: boolean }
  | { readonly k: 'param'; readonly name: string; readonly art: boolean }
  | { readonly k: 'item'; readonly loop: string; readonly path: readonly string[] }
  | { readonly k: 'oneOf'; readonly condition: string; readonly cn: number; readonly options: readonly { readonly task: string; readonly n: number; readonly output: string }[]; readonly art: boolean }
  | { readonly k: 'status' };

export type ArgVal = { readonly k: 'lit'; readonly text: string } | Ref;
export type Operand = { readonly lit: JsonValue } | { readonly ref: Ref; readonly type: ParamType | 'artifact' };
export type PredL =
  /** `as`: compare as numbers or as text (SDK `compareMode`, the mode the IR says). */
  | { readonly k: 'cmp'; readonly op: string; readonly l: Operand; readonly r: Operand; readonly as: 'number' | 'text' }
  | { readonly k: 'and' | 'or'; readonly args: readonly PredL[] }
  | { readonly k: 'not'; readonly arg: PredL };

export interface LTask {
  /** IR id of the node (or a derived id such as `cond/else`). */
  readonly id: string;
  /** Proposed Argo task name. */
  readonly name: string;
  readonly call: string | LDag;
  readonly params: readonly { readonly name: string; readonly val: ArgVal }[];
  readonly arts: readonly { readonly name: string; readonly ref: Ref; readonly optional?: boolean }[];
  /** Input artifacts given by repository key (collected artifacts: the collect's whole prefix). */
  readonly keyed?: readonly { readonly name: string; readonly key: string }[];
  readonly when?: { readonly pred: PredL; readonly negate: boolean };
  readonly items?: { readonly k: 'items'; readonly value: readonly JsonValue[] } | Ref;
  /** The loop whose `{{item}}` this task expands. */
  readonly loop?: string;
  /** IR ids (numbers, {@link Scope.ids}) inside this task, itself included: references to them resolve through it. */
  readonly contains: readonly number[];
  /** IR ids (numbers) this task, or anything inside it, waits for. */
  readonly uses: readonly number[];
}

export interface LDag {
  readonly name: string;
  tasks: LTask[];
  readonly parallelism?: number;
}

/** A closed scope: the root pipeline, the exit handler, or a nested pipeline component. */
export interface Scope {
  readonly root: boolean;
  /** The DAG template of this scope (`main`, or the nested pipeline's): names collect prefixes. */
  readonly id: string;
  readonly params: { readonly [name: string]: IOSpec };
  /** The pipeline's components by hash (a task's is `components[task.component]`). */
  readonly components: { readonly [hash: string]: ComponentIR };
  readonly tasks: ReadonlyMap<string, TaskIR>;
  /** Task id -> its artifact outputs that a `collect` in this scope gathers over a loop. */
  readonly collected: ReadonlyMap<string, ReadonlySet<string>>;
  readonly conditions: ReadonlySet<string>;
  readonly path: string;
  /** The scope's IR ids as numbers, given while lowering. */
  readonly ids: IdNumbers;
}

export interface LowerContext extends TemplateContext {
  /**
   * Memo of the leaf template of plain tasks (nothing collected, encoded or chosen by a condition):
   * component hash -> task options object -> input names -> template name and whether its cache
   * key chains; the same answer as {@link leafTemplateFor}'s own memo, without making its key.
   */
  readonly plainLeaf: Map<string, Map<TaskOptionsIR, Map<string, { readonly name: string; readonly chained: boolean }>>>;
  /** Nested pipeline components: hash -> template name (rendered by the caller of `lower`). */
  readonly nested: Map<string, string>;
  readonly requestNested: (hash: string, comp: PipelineComponentIR, displayName: string | undefined) => string;
}

export function scanScope(dag: readonly NodeIR[], ir: { readonly components: { readonly [h: string]: ComponentIR } }, extra: readonly TaskIR[] = []) {
  const tasks = new Map<string, TaskIR>();
  const conditions = new Set<string>();
  const collects: { task: string; output: string }[] = [];
  const add = (t: TaskIR): void => {
    tasks.set(t.id, t);
    for (const name in t.inputs) { const v = t.inputs[name]!; if (v.kind === 'collect') collects.push(v); }
  };
  const walk = (nodes: readonly NodeIR[]): void => {
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      if (n.kind === 'task') add(n);
      else if (n.kind === 'condition') { conditions.add(n.id); walk(n.then); walk(n.else); }
      else walk(n.body);
    }
  };
  walk(dag);
  for (const t of extra) add(t);
  const collected = new Map<string, Set<string>>();
  for (const c of collects) {
    const t = tasks.get(c.task);
    if ((t && ir.components[t.component])?.outputs[c.output]?.kind !== 'artifact') continue;
    let s = collected.get(c.task);
    if (!s) collected.set(c.task, (s = new Set()));
    s.add(c.output);
  }
  return { components: ir.components, tasks, conditions, collected, ids: new IdNumbers() };
}

/** True when the task's template is memoized and so reports its key (`sluice-cache-key`). */
function reportsCacheKey(task: string, scope: Scope, ctx: LowerContext): boolean {
  const t = scope.tasks.get(task);
  const comp = t && scope.components[t.component];
  if (!t || !comp || comp.kind === 'pipeline') return false;
  return cacheMode(effectiveOptions(ctx, comp, t), scope.collected.has(task)) !== 'off';
}

/**
 * What stands for an artifact input in a memoized consumer's key: the producer's own key when it is
 * memoized (same inputs, same key, same artifact), else the run's uid (the artifact may differ from
 * any earlier run's: a pipeline input, a nested pipeline's output, a collected list).
 */
function artifactCacheKey(v: ValueIR, scope: Scope, ctx: LowerContext): ArgVal {
  if (v.kind === 'output' && reportsCacheKey(v.task, scope, ctx)) return { k: 'out', task: v.task, n: scope.ids.of(v.task), output: CACHE_KEY_OUTPUT, art: false };
  if (v.kind === 'oneOf' && v.options.every((o) => reportsCacheKey(o.task, scope, ctx))) {
    return { k: 'oneOf', condition: v.condition, cn: scope.ids.of(v.condition), options: v.options.map((o) => ({ task: o.task, n: scope.ids.of(o.task), output: CACHE_KEY_OUTPUT })), art: false };
  }
  return { k: 'lit', text: '{{workflow.uid}}' };
}

function outSpec(scope: Scope, task: string, output: string): IOSpec | undefined {
  const t = scope.tasks.get(task);
  return t && scope.components[t.component]?.outputs[output];
}

type ValueLowerer = (v: ValueIR, scope: Scope, ctx: LowerContext, path: string, toContainer: boolean) => ArgVal;

const VALUE: Record<ValueKind, ValueLowerer> = {
  literal: (v, _s, ctx, path, toContainer) => {
    const text = paramText((v as { value: JsonValue }).value);
    // A function step's literal that needs it is base64-encoded by lowerTask; a container step
    // would receive the text itself, which no manifest field can carry unchanged: refused.
    if (toContainer && literalNeedsEncoding(text)) {
      ctx.issues.push({ code: 'argo.template', path, message: `literal ${JSON.stringify(text)} contains ${text.includes('{{') ? '"{{", which Argo would read as a template expression' : 'a control character, which Argo refuses in a manifest'}`, hint: 'a container component cannot receive it unchanged from a manifest; compute it in a function component and pass its output' });
    }
    return { k: 'lit', text };
  },
  param: (v, scope) => {
    const name = (v as { name: string }).name;
    return { k: 'param', name, art: scope.params[name]?.kind === 'artifact' };
  },
  output: (v, scope) => {
    const o = v as { task: string; output: string };
    return { k: 'out', task: o.task, n: scope.ids.of(o.task), output: o.output, art: outSpec(scope, o.task, o.output)?.kind === 'artifact' };
  },
  item: (v, _s, ctx, path) => {
    const i = v as { loop: string; path: readonly string[] };
    if (i.path.length > 1) ctx.issues.push({ code: 'argo.item', path, message: `uses the item field ${i.path.join('.')}; Argo substitutes only top-level item fields`, hint: 'make the loop items flat objects' });
    return { k: 'item', loop: i.loop, path: i.path };
  },
  collect: (v, scope, ctx, path) => {
    const c = v as { task: string; output: string };
    const art = outSpec(scope, c.task, c.output)?.kind === 'artifact';
    // Collected artifacts reach list inputs of function components only (see lowerTask).
    if (art) ctx.issues.push({ code: 'argo.collect', path, message: `collects artifact "${c.output}" over a loop here; on Argo only a function component's list input can take collected artifacts`, hint: 'pass the list to a function component (listOf(...) input) and hand on what it produces' });
    return { k: 'out', task: c.task, n: scope.ids.of(c.task), output: c.output, art };
  },
  oneOf: (v, scope) => {
    const o = v as { condition: string; options: readonly { task: string; output: string }[] };
    const first = o.options[0];
    return { k: 'oneOf', condition: o.condition, cn: scope.ids.of(o.condition), options: o.options.map((x) => ({ task: x.task, n: scope.ids.of(x.task), output: x.output })), art: first ? outSpec(scope, first.task, first.output)?.kind === 'artifact' : false };
  },
  status: () => ({ k: 'status' }),
};

/** IR ids (numbers) a value waits for. */
function producers(v: ValueIR, scope: Scope, into: number[]): void {
  if (v.kind === 'output') into.push(scope.ids.of(v.task));
  else if (v.kind === 'collect') into.push(scope.ids.of(v.loop));
  else if (v.kind === 'oneOf') { into.push(scope.ids.of(v.condition), scope.ids.of(`${v.condition}/else`)); }
}

function afterIds(after: readonly string[], scope: Scope, into: number[]): void {
  for (const a of after) {
    into.push(scope.ids.of(a));
    if (scope.conditions.has(a)) into.push(scope.ids.of(`${a}/else`));
  }
}

function operandType(v: ValueIR, scope: Scope): ParamType | 'artifact' {
  const spec = v.kind === 'param' ? scope.params[v.name] : v.kind === 'output' ? outSpec(scope, v.task, v.output)
    : v.kind === 'oneOf' && v.options[0] ? outSpec(scope, v.options[0].task, v.options[0].output) : undefined;
  if (!spec) return 'any';
  return spec.kind === 'artifact' ? 'artifact' : spec.type;
}

const PRED: Record<PredicateKind, (p: PredicateIR, scope: Scope, ctx: LowerContext, path: string, uses: number[]) => PredL> = {
  compare: (p, scope, ctx, path, uses) => {
    const c = p as Extract<PredicateIR, { kind: 'compare' }>;
    const operand = (v: ValueIR): Operand => {
      producers(v, scope, uses);
      if (v.kind === 'literal') return { lit: v.value };
      return { ref: VALUE[v.kind](v, scope, ctx, path, false) as Ref, type: operandType(v, scope) };
    };
    return { k: 'cmp', op: c.op, l: operand(c.left), r: operand(c.right), as: compareMode(c) };
  },
  and: (p, scope, ctx, path, uses) => ({ k: 'and', args: (p as { args: readonly PredicateIR[] }).args.map((a) => PRED[a.kind](a, scope, ctx, path, uses)) }),
  or: (p, scope, ctx, path, uses) => ({ k: 'or', args: (p as { args: readonly PredicateIR[] }).args.map((a) => PRED[a.kind](a, scope, ctx, path, uses)) }),
  not: (p, scope, ctx, path, uses) => ({ k: 'not', arg: PRED[(p as { arg: PredicateIR }).arg.kind]((p as { arg: PredicateIR }).arg, scope, ctx, path, uses) }),
};

type NodeLowerer = (node: NodeIR, scope: Scope, ctx: LowerContext, into: LTask[]) => void;

const NO_COLLECTED: ReadonlyMap<string, string> = new Map();
const NO_ARTS: LTask['arts'] = Object.freeze([]);
const NO_PARAMS: LTask['params'] = Object.freeze([]);
const NO_USES: LTask['uses'] = Object.freeze([]);

const NO_ONE_OF: ReadonlyMap<string, number> = new Map();
const NO_ENCODED: ReadonlySet<string> = new Set();

/** A function task's artifact inputs chosen by a condition: input name -> number of options. */
function oneOfArtifacts(t: TaskIR, comp: ComponentIR): ReadonlyMap<string, number> {
  let out: Map<string, number> | undefined;
  if (comp.kind !== 'function') return NO_ONE_OF;
  for (const name in t.inputs) {
    const v = t.inputs[name]!;
    if (v.kind === 'oneOf' && comp.inputs[name]?.kind === 'artifact') (out ??= new Map()).set(name, v.options.length);
  }
  return out ?? NO_ONE_OF;
}

/** A function task's parameter inputs bound to literals that travel base64-encoded (`--param-b64` of the compiler's text). */
function encodedInputs(t: TaskIR, comp: ComponentIR): ReadonlySet<string> {
  let out: Set<string> | undefined;
  if (comp.kind !== 'function') return NO_ENCODED;
  for (const name in t.inputs) {
    const v = t.inputs[name]!;
    if (v.kind === 'literal' && comp.inputs[name]?.kind === 'parameter' && literalNeedsEncoding(paramText(v.value))) (out ??= new Set()).add(name);
  }
  return out ?? NO_ENCODED;
}

/**
 * A function task whose inputs are all parameters bound to outputs, pipeline parameters or
 * literals that travel as they are (most tasks): lowered without the general case's per-input
 * branches. Returns false, having changed nothing, for any other task.
 */
function lowerPlainTask(t: TaskIR, comp: FunctionComponentIR, scope: Scope, ctx: LowerContext, into: LTask[]): boolean {
  if (scope.collected.size && scope.collected.has(t.id)) return false;
  let sig = '';
  for (const name in t.inputs) {
    const v = t.inputs[name]!;
    if (comp.inputs[name]?.kind !== 'parameter') return false;
    if (v.kind === 'output') { if (outSpec(scope, v.task, v.output)?.kind === 'artifact') return false; }
    else if (v.kind === 'literal') { if (literalNeedsEncoding(paramText(v.value))) return false; }
    else if (v.kind !== 'param' || scope.params[v.name]?.kind === 'artifact') return false;
    sig = sig ? `${sig},${name}` : name;
  }
  const call = plainLeafTemplate(t, comp, sig, scope, ctx).name;
  // Arrays made by a literal have room for what they hold; `[]` and a push would reserve 16 slots.
  let params: { name: string; val: ArgVal }[] | undefined;
  let uses: number[] | undefined;
  if (t.after.length) afterIds(t.after, scope, (uses = []));
  for (const name in t.inputs) {
    const v = t.inputs[name]!;
    let val: ArgVal;
    if (v.kind === 'output') {
      const n = scope.ids.of(v.task);
      if (uses) uses.push(n);
      else uses = [n];
      val = { k: 'out', task: v.task, n, output: v.output, art: false };
    } else if (v.kind === 'literal') val = { k: 'lit', text: paramText(v.value) };
    else val = { k: 'param', name: (v as { name: string }).name, art: false };
    const p = { name: argoParamName(name), val };
    if (params) params.push(p);
    else params = [p];
  }
  into.push({ id: t.id, name: t.id, call, params: params ?? NO_PARAMS, arts: NO_ARTS, contains: [scope.ids.of(t.id)], uses: uses ?? NO_USES });
  return true;
}

/** The leaf template of a task with nothing collected, encoded or chosen by a condition, memoized by component, options object and input names (`sig`). */
function plainLeafTemplate(t: TaskIR, comp: FunctionComponentIR | ContainerComponentIR, sig: string, scope: Scope, ctx: LowerContext): { readonly name: string; readonly chained: boolean } {
  let byOptions = ctx.plainLeaf.get(t.component);
  if (!byOptions) ctx.plainLeaf.set(t.component, (byOptions = new Map()));
  let memo = byOptions.get(t.options);
  if (!memo) byOptions.set(t.options, (memo = new Map()));
  let known = memo.get(sig);
  if (!known) {
    const name = leafTemplateFor(t, t.component, comp, `${scope.path}/${t.id}`, ctx, NO_COLLECTED, NO_ENCODED, NO_ONE_OF);
    known = { name, chained: cacheMode(effectiveOptions(ctx, comp, t), false) === 'inputs' };
    memo.set(sig, known);
  }
  return known;
}

function lowerTask(t: TaskIR, scope: Scope, ctx: LowerContext, into: LTask[]): void {
  const comp = ctx.ir.components[t.component];
  if (!comp) return; // reported by validation
  if (comp.kind === 'function' && lowerPlainTask(t, comp, scope, ctx, into)) return;
  const path = `${scope.path}/${t.id}`;
  let call: string;
  let chained = false;
  if (comp.kind === 'pipeline') {
    nestedOptions(t, comp, path, ctx);
    const shown = t.options.displayName === undefined ? undefined : argoDisplayName(t.options.displayName, `${path}/options.displayName`, ctx.issues);
    call = ctx.requestNested(t.component, comp, shown);
  } else {
    let collected = NO_COLLECTED;
    const outs = scope.collected.get(t.id);
    if (outs) {
      const c = new Map<string, string>();
      for (const o of [...outs].sort()) c.set(o, collectPrefix(scope.id, t.id, o));
      collected = c;
    }
    const encoded = encodedInputs(t, comp);
    const oneOf = oneOfArtifacts(t, comp);
    if (collected.size === 0 && encoded.size === 0 && oneOf.size === 0) {
      let sig = '';
      for (const k in t.inputs) sig = sig ? `${sig},${k}` : k;
      ({ name: call, chained } = plainLeafTemplate(t, comp, sig, scope, ctx));
    } else {
      call = leafTemplateFor(t, t.component, comp, path, ctx, collected, encoded, oneOf);
      chained = cacheMode(effectiveOptions(ctx, comp, t), collected.size > 0) === 'inputs';
    }
  }
  const params: { name: string; val: ArgVal }[] = [];
  let arts: { name: string; ref: Ref; optional?: boolean }[] | undefined;
  let keyed: { name: string; key: string }[] | undefined;
  const uses: number[] = [];
  afterIds(t.after, scope, uses);
  for (const name in t.inputs) {
    const v = t.inputs[name]!;
    producers(v, scope, uses);
    const spec = comp.inputs[name];
    const ipath = `${path}/inputs.${name}`;
    if (spec?.kind === 'artifact' && spec.list && v.kind === 'collect' && comp.kind === 'function' && outSpec(scope, v.task, v.output)?.kind === 'artifact') {
      // Fan-in of artifacts: every iteration stored its artifact under one prefix; this task gets
      // the prefix as one directory, and the iterations' entry names in item order.
      (keyed ??= []).push({ name: argoParamName(name), key: collectPrefix(scope.id, v.task, v.output) });
      params.push({ name: collectOrderInput(name), val: { k: 'out', task: v.task, n: scope.ids.of(v.task), output: collectKeyOutput(v.output), art: false } });
      if (chained) params.push({ name: cacheKeyInput(name), val: artifactCacheKey(v, scope, ctx) });
      continue;
    }
    let val = VALUE[v.kind](v, scope, ctx, ipath, comp.kind === 'container');
    if (val.k === 'lit' && literalNeedsEncoding(val.text)) {
      if (comp.kind === 'function') val = { k: 'lit', text: encodeBase64(val.text) };
      else if (comp.kind === 'pipeline') ctx.issues.push({ code: 'argo.template', path: ipath, message: `literal ${JSON.stringify(val.text)} contains ${val.text.includes('{{') ? '"{{"' : 'a control character'}, which cannot pass through a nested pipeline's DAG on Argo`, hint: 'pass it to the function components inside the nested pipeline directly' });
    }
    if (spec?.kind === 'artifact') {
      if (spec.list && v.kind !== 'collect') ctx.issues.push({ code: 'argo.collect', path: ipath, message: 'takes a list of artifacts, which on Argo only a collect over a loop can give', hint: 'bind it to loop.collect(...) of an artifact output' });
      else if (spec.list && comp.kind === 'container' && !ctx.issues.some((i) => i.path === ipath)) ctx.issues.push({ code: 'argo.collect', path: ipath, message: 'a container component cannot take a list of artifacts on Argo', hint: 'take the list in a function component' });
      if (val.k === 'oneOf' && v.kind === 'oneOf') {
        // Argo's validation refuses `fromExpression` on DAG task arguments: each option is its own
        // optional argument (only the branch that ran resolves) and the executor takes the one given.
        if (comp.kind === 'function') v.options.forEach((o, i) => (arts ??= []).push({ name: oneOfArtifactInput(name, i), ref: { k: 'out', task: o.task, n: scope.ids.of(o.task), output: o.output, art: true }, optional: true }));
        else ctx.issues.push({ code: 'argo.oneOf', path: ipath, message: 'takes an artifact chosen by a condition, which on Argo only a function component can receive', hint: 'take it in a function component and hand on what it produces' });
      } else if (val.k !== 'lit') (arts ??= []).push({ name: argoParamName(name), ref: val });
      if (chained) params.push({ name: cacheKeyInput(name), val: artifactCacheKey(v, scope, ctx) });
    } else params.push({ name: argoParamName(name), val });
  }
  const contains = [scope.ids.of(t.id)];
  into.push(keyed ? { id: t.id, name: t.id, call, params, arts: arts ?? NO_ARTS, keyed, contains, uses } : { id: t.id, name: t.id, call, params, arts: arts ?? NO_ARTS, contains, uses });
}

/** What Argo's controller accepts as a node display name (`displayNameRegex` in its operator). */
const DISPLAY_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9-.]{0,61}[a-zA-Z0-9]$/;

/** A display name as Argo accepts it: other characters become `-`, at most 63 characters. */
export function argoDisplayName(name: string, path: string, issues: LowerContext['issues']): string {
  const s = name.replace(/[^a-zA-Z0-9.-]+/g, '-').replace(/^[^a-zA-Z0-9]+/, '').slice(0, 63).replace(/[^a-zA-Z0-9]+$/, '');
  if (!DISPLAY_NAME_RE.test(s)) issues.push({ code: 'argo.display-name', path, message: `display name ${JSON.stringify(name)} has fewer than two letters or digits; Argo cannot show it`, hint: 'use a longer display name' });
  return s;
}

/**
 * A nested pipeline runs as a DAG template: no pod, so no pod settings, and Argo puts no retry,
 * timeout or memoization on a DAG task. Its display name is applied; anything else is an error
 * rather than silently dropped.
 */
function nestedOptions(t: TaskIR, comp: PipelineComponentIR, path: string, ctx: LowerContext): void {
  for (const k of Object.keys(t.options).sort()) {
    if (k === 'displayName' || (t.options as Record<string, unknown>)[k] === undefined) continue;
    ctx.issues.push({ code: 'argo.nested-option', path: `${path}/options.${k}`, message: `option "${k}" cannot apply to a task that runs the nested pipeline "${comp.name}": on Argo it is a DAG, with no pod, retry, timeout or cache of its own`, hint: 'set the option on the tasks inside the nested pipeline (or in its pipeline defaults)' });
  }
}

function lowerCondition(c: ConditionIR, scope: Scope, ctx: LowerContext, into: LTask[]): void {
  const uses: number[] = [];
  afterIds(c.after, scope, uses);
  const pred = PRED[c.predicate.kind](c.predicate, scope, ctx, `${scope.path}/${c.id}/predicate`, uses);
  const out = into;
  const branch = (nodes: readonly NodeIR[], id: string, name: string, negate: boolean): void => {
    if (!nodes.length) return;
    const dag = lowerDag(nodes, ctx.names.take(name), scope, ctx);
    const contains = [scope.ids.of(id)];
    const inner = [...uses];
    for (const t of dag.tasks) { contains.push(...t.contains); inner.push(...t.uses); }
    out.push({ id, name, call: dag, params: [], arts: [], when: { pred, negate }, contains, uses: inner });
  };
  branch(c.then, c.id, c.id, false);
  branch(c.else, `${c.id}/else`, `${c.id}-else`, true);
}

function lowerLoop(l: LoopIR, scope: Scope, ctx: LowerContext, into: LTask[]): void {
  const path = `${scope.path}/${l.id}`;
  const uses: number[] = [];
  afterIds(l.after, scope, uses);
  producers(l.items, scope, uses);
  let items: LTask['items'];
  if (l.items.kind === 'literal') {
    const value = Array.isArray(l.items.value) ? (l.items.value as readonly JsonValue[]) : [];
    if (literalNeedsEncoding(JSON.stringify(value)) || value.some((x) => typeof x === 'string' && literalNeedsEncoding(x))) ctx.issues.push({ code: 'argo.template', path: `${path}/items`, message: 'loop items contain "{{" or a control character, which Argo would read as a template expression or refuse', hint: 'pass the items as a pipeline parameter instead' });
    items = { k: 'items', value };
  } else items = VALUE[l.items.kind](l.items, scope, ctx, `${path}/items`, false) as Ref;
  const wrapName = l.parallelism !== undefined ? ctx.names.take(`${l.id}-par`) : undefined;
  const body = lowerDag(l.body, ctx.names.take(l.id), scope, ctx);
  const contains = [scope.ids.of(l.id)];
  const inner = [...uses];
  for (const t of body.tasks) { contains.push(...t.contains); inner.push(...t.uses); }
  const loopTask: LTask = { id: l.id, name: l.id, call: body, params: [], arts: [], items, loop: l.id, contains, uses: inner };
  if (wrapName === undefined) { into.push(loopTask); return; }
  // Argo limits iterations running at once with `parallelism` on the template that holds the loop task.
  const wrapper: LDag = { name: wrapName, tasks: [loopTask], parallelism: l.parallelism! };
  into.push({ id: `${l.id}/par`, name: l.id, call: wrapper, params: [], arts: [], contains, uses: inner });
}

const NODE: Record<NodeKind, NodeLowerer> = {
  task: (n, s, c, into) => lowerTask(n as TaskIR, s, c, into),
  condition: (n, s, c, into) => lowerCondition(n as ConditionIR, s, c, into),
  loop: (n, s, c, into) => lowerLoop(n as LoopIR, s, c, into),
};

export function lowerDag(nodes: readonly NodeIR[], name: string, scope: Scope, ctx: LowerContext, parallelism?: number): LDag {
  const tasks: LTask[] = [];
  for (let i = 0; i < nodes.length; i++) { const n = nodes[i]!; NODE[n.kind](n, scope, ctx, tasks); }
  return parallelism === undefined ? { name, tasks } : { name, tasks, parallelism };
}

/** Lowers a pipeline-level value binding (pipeline or nested pipeline outputs). */
export function lowerBinding(v: ValueIR, scope: Scope, ctx: LowerContext, path: string): ArgVal {
  return VALUE[v.kind](v, scope, ctx, path, false);
}

export function lowerExitTask(t: TaskIR, scope: Scope, ctx: LowerContext): LTask[] {
  const tasks: LTask[] = [];
  lowerTask(t, scope, ctx, tasks);
  return tasks;
}
