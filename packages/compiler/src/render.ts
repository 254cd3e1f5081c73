/**
 * Render pass (internal): L-form DAGs -> Argo DAG templates. Each reference is resolved where it is
 * used: a task of the same DAG (`{{tasks.x.outputs...}}`), an output a sub-DAG exports for it, a
 * workflow parameter, or else an input of the DAG template, which its caller then resolves in turn.
 */
import type { JsonValue, SluiceIssue } from '@sluice/sdk';
import type { IdIndex } from './ids.ts';
import { argoParamName, dnsLabel } from './names.ts';
import type { ArgVal, LDag, LTask, Operand, PredL, Ref } from './lower.ts';
import type { ArgoObject } from './templates.ts';
import type { YamlValue } from './yaml.ts';
import type { SourceMapBuilder, TemplateOrigin } from './sourcemap.ts';

type Field = 'parameters' | 'artifacts';
type Resolved =
  | { readonly t: 'task'; readonly task: string; readonly field: Field; readonly name: string }
  | { readonly t: 'input'; readonly field: Field; readonly name: string }
  | { readonly t: 'wf'; readonly name: string }
  | { readonly t: 'status' }
  | { readonly t: 'oneOf'; readonly branches: readonly { readonly task: string; readonly value: Resolved }[] };

export interface RenderContext {
  /** DAG templates in output order. */
  readonly templates: ArgoObject[];
  readonly issues: SluiceIssue[];
  readonly map: SourceMapBuilder;
}

interface ClosedScope {
  /** Root pipeline or exit handler: parameters are `workflow.parameters`. */
  readonly root: boolean;
  /** Declared inputs (nested pipeline components), in order. */
  readonly inputs?: { readonly parameters: readonly ArgoObject[]; readonly artifacts: readonly ArgoObject[] };
  /** Outputs get a `globalName` (pipeline outputs). */
  readonly global?: boolean;
  /** Template annotations (e.g. Argo's node display name). */
  readonly annotations?: { readonly [key: string]: string };
}

/** The input/export name a reference travels under between DAG templates. */
function refKey(r: Ref): string {
  switch (r.k) {
    case 'out': return argoParamName(`${r.task}-${r.output}`);
    case 'param': return argoParamName(r.name);
    case 'item': return argoParamName(['item', r.loop, ...r.path].join('-'));
    case 'oneOf': return argoParamName(`${r.condition}-${r.options.map((o) => `${o.task}-${o.output}`).join('-')}`);
    case 'status': return 'status';
  }
}

function isArt(r: Ref): boolean {
  return (r.k === 'out' || r.k === 'param' || r.k === 'oneOf') && r.art;
}

function tag(r: Resolved): string {
  switch (r.t) {
    case 'task': return `{{tasks.${r.task}.outputs.${r.field}.${r.name}}}`;
    case 'input': return `{{inputs.${r.field}.${r.name}}}`;
    case 'wf': return `{{workflow.parameters.${r.name}}}`;
    case 'status': return '{{workflow.status}}';
    case 'oneOf': return `{{=${expr(r)}}}`;
  }
}

function expr(r: Resolved): string {
  switch (r.t) {
    case 'task': return `tasks['${r.task}'].outputs.${r.field}['${r.name}']`;
    case 'input': return `inputs.${r.field}['${r.name}']`;
    case 'wf': return `workflow.parameters['${r.name}']`;
    case 'status': return 'workflow.status';
    case 'oneOf': {
      const b = r.branches;
      let out = expr(b[b.length - 1]!.value);
      for (let i = b.length - 2; i >= 0; i--) out = `(tasks['${b[i]!.task}'].status == 'Succeeded' ? ${expr(b[i]!.value)} : ${out})`;
      return out;
    }
  }
}

/**
 * A string literal for an Argo expression that never contains `{{` or `}}` (which would end the
 * surrounding tag): adjacent braces are split across concatenated literals.
 */
function exprString(s: string): string {
  const pieces: string[] = [];
  let start = 0;
  for (let i = 1; i < s.length; i++) {
    const a = s[i - 1];
    if ((a === '{' || a === '}') && s[i] === a) { pieces.push(s.slice(start, i)); start = i; }
  }
  pieces.push(s.slice(start));
  const lits = pieces.map((p) => JSON.stringify(p));
  return lits.length === 1 ? lits[0]! : `(${lits.join(' + ')})`;
}

function litText(v: JsonValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** One DAG being rendered: its task names and the references it resolves or passes up. */
interface DagState {
  readonly D: LDag;
  readonly root: boolean;
  /** Argo task name of each task (by position in `D.tasks`). */
  readonly names: readonly string[];
  /** Where this DAG's ids are indexed: the position of the task that holds id n is `index.find(depth, stamp, n)`. */
  readonly index: IdIndex;
  readonly depth: number;
  readonly stamp: number;
  /** What each sub-DAG task (by position) must export for this DAG (key -> reference inside it). */
  readonly requests: (Map<string, ArgVal> | undefined)[];
  /** References this DAG cannot resolve itself: they become its inputs. */
  readonly free: Map<string, Ref>;
}

/** A task whose arguments are still growing (sub-DAGs add what they need): the side table entry. */
interface PendingTask {
  readonly name: string;
  readonly template: string;
  readonly depends: string | undefined;
  readonly when: string | undefined;
  readonly withItems: YamlValue;
  readonly withParam: string | undefined;
  readonly params: ArgoObject[];
  arts: ArgoObject[];
}

/** Shared by tasks without artifact arguments; replaced by a real list when one is added. */
const NO_ARTS: ArgoObject[] = [];

/** Argo task names, unique in the DAG; none may start with a digit when `depends` is used. */
function taskNames(D: LDag): string[] {
  const taken = new Set<string>();
  const names: string[] = new Array(D.tasks.length);
  for (let k = 0; k < D.tasks.length; k++) {
    let base = dnsLabel(D.tasks[k]!.name);
    const c = base.charCodeAt(0);
    if (c >= 48 && c <= 57) {
      // Argo refuses digit-first names in `depends`; task ids never start with a digit (SDK name rule,
      // checked by validation), but derived names (branch and chunk templates) may.
      base = dnsLabel(`t-${base}`);
    }
    let n = base;
    for (let i = 2; taken.has(n); i++) n = `${base}-${i}`;
    taken.add(n);
    names[k] = n;
  }
  return names;
}

function dagState(D: LDag, root: boolean, index: IdIndex, depth: number): DagState {
  const stamp = index.index(D.tasks, depth);
  return { D, root, names: taskNames(D), index, depth, stamp, requests: new Array(D.tasks.length), free: new Map() };
}

/** The position of the task of this DAG that holds id number `n`, or -1. */
function holder(s: DagState, n: number): number {
  return s.index.find(s.depth, s.stamp, n);
}

function asFree(s: DagState, r: Ref): Resolved {
  const key = refKey(r);
  s.free.set(key, r);
  return { t: 'input', field: isArt(r) ? 'artifacts' : 'parameters', name: key };
}

/** Asks the sub-DAG task at `k` to export `ref` under `key`; the reference resolves to that export. */
function viaExport(s: DagState, k: number, ref: Ref, field: Field): Resolved {
  const key = refKey(ref);
  let m = s.requests[k];
  if (!m) s.requests[k] = m = new Map();
  m.set(key, ref);
  return { t: 'task', task: s.names[k]!, field, name: key };
}

/** Where reference `r` comes from, seen from this DAG. */
function resolve(s: DagState, r: Ref): Resolved {
  switch (r.k) {
    case 'status': return { t: 'status' };
    case 'param': return s.root && !r.art ? { t: 'wf', name: r.name } : asFree(s, r);
    case 'item': return asFree(s, r);
    case 'out': {
      const k = holder(s, r.n);
      if (k < 0) return asFree(s, r);
      const L = s.D.tasks[k]!;
      const field: Field = r.art ? 'artifacts' : 'parameters';
      if (L.id === r.task && typeof L.call === 'string') return { t: 'task', task: s.names[k]!, field, name: argoParamName(r.output) };
      return viaExport(s, k, r, field);
    }
    case 'oneOf': {
      const k = holder(s, r.cn);
      if (k < 0) return asFree(s, r);
      if (s.D.tasks[k]!.id !== r.condition) return viaExport(s, k, r, r.art ? 'artifacts' : 'parameters');
      const branches = r.options.map((o) => {
        const value = resolve(s, { k: 'out', task: o.task, n: o.n, output: o.output, art: r.art });
        return { task: value.t === 'task' ? value.task : '', value };
      });
      return { t: 'oneOf', branches };
    }
  }
}

function operand(s: DagState, o: Operand, numeric: boolean): string {
  if ('lit' in o) return numeric ? (typeof o.lit === 'number' ? String(o.lit) : `asFloat(${exprString(litText(o.lit))})`) : exprString(litText(o.lit));
  const e = expr(resolve(s, o.ref));
  return numeric ? `asFloat(${e})` : e;
}

/** A condition's predicate as an Argo expression. */
function predicate(s: DagState, p: PredL): string {
  switch (p.k) {
    case 'cmp': {
      const numeric = p.as === 'number'; // the SDK's comparison rule, decided in the IR
      return `${operand(s, p.l, numeric)} ${p.op} ${operand(s, p.r, numeric)}`;
    }
    case 'and': return p.args.length ? `(${p.args.map((a) => predicate(s, a)).join(' && ')})` : 'true';
    case 'or': return p.args.length ? `(${p.args.map((a) => predicate(s, a)).join(' || ')})` : 'false';
    case 'not': return `!(${predicate(s, p.arg)})`;
  }
}

function paramArg(s: DagState, name: string, v: ArgVal): ArgoObject {
  return { name, value: v.k === 'lit' ? v.text : v.k === 'out' ? outTag(s, v) : tag(resolve(s, v)) };
}

/** The tag of an output reference ({@link resolve} and {@link tag} in one step when a pod task of this DAG produces it, as most do). */
function outTag(s: DagState, r: Extract<Ref, { k: 'out' }>): string {
  const k = holder(s, r.n);
  if (k >= 0) {
    const L = s.D.tasks[k]!;
    if (L.id === r.task && typeof L.call === 'string') return '{{tasks.' + s.names[k]! + (r.art ? '.outputs.artifacts.' : '.outputs.parameters.') + argoParamName(r.output) + '}}';
  }
  return tag(resolve(s, r));
}

function artArg(s: DagState, name: string, r: Ref): ArgoObject {
  const res = resolve(s, r);
  return res.t === 'oneOf' ? { name, fromExpression: expr(res) } : { name, from: tag(res) };
}

/**
 * The DAG template's outputs: what its caller asked of it (or the pipeline's outputs), and the
 * workflow parameters the root DAG passes through as outputs (it declares them as inputs).
 */
function dagOutputs(s: DagState, exports: ReadonlyMap<string, ArgVal>, global: boolean): { parameters: ArgoObject[]; artifacts: ArgoObject[]; passed: string[] } {
  const parameters: ArgoObject[] = [];
  const artifacts: ArgoObject[] = [];
  const passed: string[] = [];
  for (const [name, v] of exports) {
    const globalName = global ? name : undefined;
    if (v.k === 'lit') { parameters.push({ name, globalName, valueFrom: { expression: exprString(v.text) } }); continue; }
    const res = resolve(s, v);
    if (isArt(v)) artifacts.push(res.t === 'oneOf' ? { name, globalName, fromExpression: expr(res) } : { name, globalName, from: tag(res) });
    else if (res.t === 'wf') {
      // Argo substitutes {{workflow.parameters.x}} in the template before it resolves an output's
      // valueFrom.parameter in the DAG's scope, which then looks the value up as a name and fails
      // ("Unable to resolve"). The entry template gets the workflow's arguments as its inputs,
      // which the scope holds, and an expression is not substituted.
      if (!passed.includes(res.name)) passed.push(res.name);
      parameters.push({ name, globalName, valueFrom: { expression: `inputs.parameters['${res.name}']` } });
    } else parameters.push(res.t === 'oneOf' ? { name, globalName, valueFrom: { expression: expr(res) } } : { name, globalName, valueFrom: { parameter: tag(res) } });
  }
  return { parameters, artifacts, passed };
}

/** A task's `depends`: the Argo names of the tasks of this DAG it waits for, in first-use order. */
function dependsOf(s: DagState, L: LTask, k: number): string | undefined {
  let depends: string | undefined;
  let deps: string[] | undefined;
  const uses = L.uses;
  for (let u = 0; u < uses.length; u++) {
    const m = holder(s, uses[u]!);
    if (m < 0 || m === k) continue;
    const n = s.names[m]!;
    if (depends === undefined) depends = n;
    else if (n !== depends && !deps?.includes(n)) (deps ??= [depends]).push(n);
  }
  return deps ? deps.join(' && ') : depends;
}

/** The task's parameter arguments (what it refers to itself). */
function paramArgs(s: DagState, L: LTask): ArgoObject[] {
  const params: ArgoObject[] = new Array(L.params.length);
  for (let i = 0; i < L.params.length; i++) { const p = L.params[i]!; params[i] = paramArg(s, p.name, p.val); }
  return params;
}

/** The task's artifact arguments (what it refers to itself); {@link NO_ARTS} when it has none. */
function artArgs(s: DagState, L: LTask): ArgoObject[] {
  // `optional`: one option of an artifact chosen by a condition; Argo drops it when its branch did not run.
  let arts = NO_ARTS;
  if (L.arts.length) arts = L.arts.map((a) => (a.optional ? { ...artArg(s, a.name, a.ref), optional: true } : artArg(s, a.name, a.ref)));
  // Key-only: Argo fills in the bucket and credentials from the workflow's artifact repository.
  // Optional: a loop with no iteration leaves no prefix (the order list is then empty).
  if (L.keyed?.length) {
    if (arts === NO_ARTS) arts = [];
    for (const x of L.keyed) arts.push({ name: x.name, s3: { key: x.key }, optional: true });
  }
  return arts;
}

function argumentsOf(params: readonly ArgoObject[], arts: readonly ArgoObject[]): ArgoObject | undefined {
  return params.length || arts.length ? { parameters: params.length ? params as YamlValue : undefined, artifacts: arts.length ? arts as YamlValue : undefined } : undefined;
}

/**
 * A task that runs a pod template: its Argo object, made once (nothing is added to it later).
 * The keys are those of {@link taskObject}, in the same order.
 */
function leafTaskObject(s: DagState, k: number, template: string): ArgoObject {
  const L = s.D.tasks[k]!;
  return {
    name: s.names[k]!,
    template,
    depends: dependsOf(s, L, k),
    when: whenOf(s, L),
    withItems: L.items?.k === 'items' ? (L.items.value as YamlValue) : undefined,
    withParam: L.items && L.items.k !== 'items' ? tag(resolve(s, L.items)) : undefined,
    arguments: argumentsOf(paramArgs(s, L), artArgs(s, L)),
  };
}

function whenOf(s: DagState, L: LTask): string | undefined {
  if (!L.when) return undefined;
  const p = predicate(s, L.when.pred);
  return `{{=${L.when.negate ? `!(${p})` : p}}}`;
}

/** A task that calls a sub-DAG, with everything it refers to itself; the sub-DAG's inputs are added later. */
function pendingTask(s: DagState, k: number, dag: LDag): PendingTask {
  const L = s.D.tasks[k]!;
  return {
    name: s.names[k]!,
    template: dag.name,
    depends: dependsOf(s, L, k),
    when: whenOf(s, L),
    withItems: L.items?.k === 'items' ? (L.items.value as YamlValue) : undefined,
    withParam: L.items && L.items.k !== 'items' ? tag(resolve(s, L.items)) : undefined,
    params: paramArgs(s, L),
    arts: artArgs(s, L),
  };
}

/** Passes what a sub-DAG could not resolve itself (its free references) into its task. */
function addChildInputs(s: DagState, L: LTask, task: PendingTask, childFree: ReadonlyMap<string, Ref>): void {
  for (const [key, ref] of childFree) {
    if (ref.k === 'item' && ref.loop === L.loop) task.params.push({ name: key, value: ref.path.length ? `{{item.${ref.path[0]}}}` : '{{item}}' });
    else if (isArt(ref)) (task.arts === NO_ARTS ? (task.arts = []) : task.arts).push(artArg(s, key, ref));
    else task.params.push(paramArg(s, key, ref));
  }
}

function taskObject(t: PendingTask): ArgoObject {
  return {
    name: t.name,
    template: t.template,
    depends: t.depends,
    when: t.when,
    withItems: t.withItems,
    withParam: t.withParam,
    arguments: argumentsOf(t.params, t.arts),
  };
}

/** The DAG template's inputs: declared (nested pipelines), none (root), or what it left free. */
function dagInputs(s: DagState, closed: ClosedScope | undefined, issues: SluiceIssue[], passed: readonly string[]): { parameters: ArgoObject[]; artifacts: ArgoObject[] } {
  if (closed?.inputs) return { parameters: [...closed.inputs.parameters], artifacts: [...closed.inputs.artifacts] };
  const parameters: ArgoObject[] = [];
  const artifacts: ArgoObject[] = [];
  for (const [key, ref] of s.free) (isArt(ref) ? artifacts : parameters).push({ name: key });
  if (!closed) return { parameters, artifacts };
  // Root: only artifact parameters arrive as inputs (spec.arguments.artifacts); nothing else may be free.
  for (const [key, ref] of s.free) if (!(ref.k === 'param' && ref.art)) issues.push({ code: 'argo.internal', path: s.D.name, message: `unresolved reference ${key}` });
  return { parameters: passed.map((name) => ({ name })), artifacts };
}

/** What the DAG template that task `L` calls stands for (a chunk, a branch, a loop body or its wrapper). */
function childOrigin(L: LTask, child: LDag, scope: string): TemplateOrigin {
  if (L.when) return { kind: L.when.negate ? 'else' : 'then', scope, node: L.when.negate ? L.id.replace(/\/else$/, '') : L.id };
  if (L.items) return { kind: 'loop', scope, node: L.id };
  if (child.parallelism !== undefined && child.tasks.length === 1 && child.tasks[0]!.items) return { kind: 'parallelism', scope, node: child.tasks[0]!.id };
  return { kind: 'chunk', scope };
}

/** The IR node a task stands for in the source map (`null` for a chunk). */
function taskOrigin(L: LTask, child: TemplateOrigin | undefined): string | null {
  if (!child) return L.id;
  return child.kind === 'chunk' ? null : child.node ?? null;
}

function ioList(l: { parameters: ArgoObject[]; artifacts: ArgoObject[] }): ArgoObject | undefined {
  return l.parameters.length || l.artifacts.length ? { parameters: l.parameters.length ? l.parameters : undefined, artifacts: l.artifacts.length ? l.artifacts : undefined } : undefined;
}

/*
 * The loops over a DAG's tasks are functions of their own, and renderDag holds none: V8 then
 * optimizes (and recompiles on loop entry) these small functions, not the whole of renderDag,
 * which in a fresh process cost more than the loops themselves.
 */

/**
 * Tasks that run a pod are final now; tasks that call a sub-DAG wait for its free references.
 * Returns the positions of the latter (a chunk of plain tasks has none).
 */
function renderTasks(s: DagState, tasks: ArgoObject[], pending: (PendingTask | undefined)[]): number[] {
  const L = s.D.tasks;
  const subs: number[] = [];
  for (let k = 0; k < L.length; k++) {
    const call = L[k]!.call;
    if (typeof call === 'string') tasks[k] = leafTaskObject(s, k, call);
    else { pending[k] = pendingTask(s, k, call); subs.push(k); }
  }
  return subs;
}

/** Renders the sub-DAGs of the tasks at `subs` (positions, ascending), last first, and completes the tasks that call them. */
function renderChildren(s: DagState, subs: readonly number[], tasks: ArgoObject[], pending: readonly (PendingTask | undefined)[], origins: (TemplateOrigin | undefined)[], rc: RenderContext, scope: string): void {
  const D = s.D;
  for (let m = subs.length - 1; m >= 0; m--) {
    const i = subs[m]!;
    const L = D.tasks[i]!;
    const call = L.call as LDag;
    const o = (origins[i] = childOrigin(L, call, scope));
    addChildInputs(s, L, pending[i]!, renderDag(call, s.requests[i] ?? new Map(), undefined, rc, o, s.index, s.depth + 1));
    tasks[i] = taskObject(pending[i]!);
  }
}

/** The source map's entries for the DAG's tasks. */
function recordTasks(s: DagState, names: { [task: string]: string | null }, origins: readonly (TemplateOrigin | undefined)[], map: SourceMapBuilder): void {
  const L = s.D.tasks;
  for (let i = 0; i < L.length; i++) {
    const n = s.names[i]!;
    const o = (names[n] = taskOrigin(L[i]!, origins[i]));
    if (o !== n) map.renamed(s.D.name, n, o);
  }
}

/**
 * Renders DAG `D` (and the DAGs its tasks call) into `rc.templates`, recording names in the
 * source map. Returns the references `D` left free, which its caller passes in. `index`: one per
 * scope (sized by its id numbers), `D` sits at `depth` in the scope's DAG tree.
 */
export function renderDag(D: LDag, exports: ReadonlyMap<string, ArgVal>, closed: ClosedScope | undefined, rc: RenderContext, origin: TemplateOrigin, index: IdIndex, depth = 0): Map<string, Ref> {
  const s = dagState(D, closed?.root ?? false, index, depth);
  rc.map.template(D.name, origin);
  const names = rc.map.dag(D.name);
  // Phase 1: everything this DAG itself refers to (so sub-DAGs know what to export).
  const outputs = dagOutputs(s, exports, closed?.global ?? false);
  const tasks: ArgoObject[] = new Array(D.tasks.length);
  const pending: (PendingTask | undefined)[] = new Array(D.tasks.length);
  const subs = renderTasks(s, tasks, pending);

  // Phase 2: sub-DAGs, consumers before producers (tasks are in topological order), so every
  // export a later sibling asks of an earlier one is known before that one is rendered.
  const slot = rc.templates.length;
  rc.templates.push({});
  const origins: (TemplateOrigin | undefined)[] = new Array(D.tasks.length);
  renderChildren(s, subs, tasks, pending, origins, rc, origin.scope);
  recordTasks(s, names, origins, rc.map);
  rc.templates[slot] = {
    name: D.name,
    annotations: closed?.annotations as YamlValue,
    inputs: ioList(dagInputs(s, closed, rc.issues, outputs.passed)),
    outputs: ioList(outputs),
    parallelism: D.parallelism,
    dag: { tasks },
  };
  return s.free;
}
