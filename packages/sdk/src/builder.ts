/**
 * Internal: the recorder that a pipeline function writes into while it runs, and its conversion to
 * frozen IR. Users never see these types; they see `Task`, `When`, `Loop` handles.
 */
import type { z } from 'zod';
import { isArtifactType } from './artifacts.ts';
import type { SluiceIssue } from './errors.ts';
import type { ComponentIR, IOSpec, NodeIR, TaskIR, TaskOptionsIR, ValueIR } from './ir.ts';
import { mergeTaskOptions } from './semantics/merge.ts';
import { parseTaskOptions, type TaskOptions, type RetryOptions, type CacheOptions, type Duration, type ResourceOptions } from './options.ts';
import { OutputRef, PRED, REF, isRef, type AnyRef, type Condition } from './refs.ts';
import { deepFreeze } from './hash.ts';
import { checkValue, isJsonValue, type IOShape } from './schema.ts';
import { specMismatch } from './validate.ts';
import { TASK_ID } from './semantics/names.ts';
import type { VolumeIR, TolerationIR, ImagePullPolicy, JsonObject } from './ir.ts';

/** @internal A component as the builder and the runtime know it. */
export interface ComponentDef {
  readonly hash: string;
  readonly ir: ComponentIR;
  readonly inputs: IOShape;
  readonly outputs: IOShape;
  /** Function components only. */
  readonly run?: (inputs: Record<string, unknown>, ctx: unknown) => unknown;
  /** Components of a nested pipeline component (and their own nested ones). */
  readonly nested?: ReadonlyMap<string, ComponentDef>;
  /** What the last recorder to call it keeps between its calls (set by the builder). */
  use?: ComponentUse | undefined;
}

/**
 * Per component, for the recorder that called it last: its id counter and output names, so that
 * a call does no map look-up (a 10,000-task pipeline calls a few components many times).
 */
interface ComponentUse {
  readonly recorder: Recorder;
  readonly base: string;
  readonly counter: { n: number };
  readonly outputNames: readonly string[];
  /** Inputs a call must give (not optional). */
  readonly required: readonly string[];
  /** Whether `base` is a valid task id: then `<base>-<n>` is one when at most 63 characters. */
  readonly baseIsId: boolean;
}

export interface TaskRec {
  readonly kind: 'task';
  id: string;
  explicitId: boolean;
  readonly def: ComponentDef;
  /** Given inputs in call order, as pairs: a name, then what it is bound to (`[name, source, ...]`). */
  inputs: readonly (string | ValueSource)[];
  /** What `.after()` named (`NO_WAITS` until it is called). */
  after: NodeRec[];
  options: TaskOptionsIR;
  scope: NodeRec[];
  readonly recorder: Recorder;
  /** Its position in the top-level DAG while `toIR` checks it (`recorded.ts`); -1 before. */
  vertex: number;
}
export interface CondRec {
  readonly kind: 'condition';
  id: string;
  readonly predicate: () => import('./ir.ts').PredicateIR;
  readonly then: NodeRec[];
  readonly else: NodeRec[];
  readonly after: NodeRec[];
}
export interface LoopRec {
  readonly kind: 'loop';
  id: string;
  readonly items: () => ValueIR;
  readonly parallelism: number | undefined;
  readonly body: NodeRec[];
  readonly after: NodeRec[];
}
export type NodeRec = TaskRec | CondRec | LoopRec;

/** @internal */
export const NODE = Symbol.for('sluice.node');

/** @internal What an input is bound to: a reference's internals, or a literal. */
export interface ValueSource {
  value(): ValueIR;
}

/** @internal A literal input: its value IR is made once, when recorded (it names no task). */
export class LiteralSource implements ValueSource {
  readonly #ir: ValueIR;
  constructor(value: import('./ir.ts').JsonValue) { this.#ir = { kind: 'literal', value }; }
  value(): ValueIR { return this.#ir; }
}

/** Shared by every task until `.after()` gives it its own list. */
const NO_WAITS: NodeRec[] = Object.freeze([]) as unknown as NodeRec[];
/** Shared by every task given no inputs. */
const NO_INPUTS: readonly (string | ValueSource)[] = Object.freeze([]);

/** Anything `.after()` accepts: a task, a condition or a loop handle. */
export interface NodeHandle {
  /** @internal */
  readonly [NODE]: NodeRec;
}

const DNS_SAFE = (s: string): string =>
  s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').replace(/-{2,}/g, '-') || 'task';

/** @internal Collects tasks and problems while a pipeline function runs. */
export class Recorder {
  readonly root: NodeRec[] = [];
  readonly scopes: NodeRec[][] = [this.root];
  readonly issues: (() => SluiceIssue)[] = [];
  readonly components = new Map<string, ComponentDef>();
  /** How many ids were made from each DNS-safe base name. */
  private readonly used = new Map<string, { n: number }>();
  /** The innermost scope (the last of `scopes`). */
  scope: NodeRec[] = this.root;
  /** Given inputs of the call being recorded, as name/source pairs (a task keeps a copy of its exact length). */
  readonly given: (string | ValueSource)[] = [];
  exitHandler: TaskRec | undefined;
  constructor(readonly pipelineName: string) {}

  /** The id counter of a DNS-safe base name. */
  counter(base: string): { n: number } {
    let c = this.used.get(base);
    if (c === undefined) this.used.set(base, (c = { n: 0 }));
    return c;
  }

  autoId(base: string): string {
    return numbered(base, this.counter(DNS_SAFE(base)));
  }

  inScope<R>(scope: NodeRec[], fn: () => R): R {
    this.scopes.push(scope);
    this.scope = scope;
    try {
      return fn();
    } finally {
      this.scopes.pop();
      this.scope = this.scopes[this.scopes.length - 1]!;
    }
  }

  issue(make: () => SluiceIssue): void {
    this.issues.push(make);
  }

  /** Records `def` as used (the first call of it) and returns what its later calls reuse. */
  use(def: ComponentDef): ComponentUse {
    this.components.set(def.hash, def);
    if (def.nested) for (const [h, d] of def.nested) this.components.set(h, d);
    const base = DNS_SAFE(def.ir.name);
    const required = Object.keys(def.ir.inputs).filter((k) => !def.ir.inputs[k]!.optional);
    return (def.use = { recorder: this, base, counter: this.counter(base), outputNames: Object.keys(def.ir.outputs), required, baseIsId: TASK_ID.test(base) });
  }
}

/** The next id of a base name: the name itself first, then `<name>-2`, `<name>-3`, ... */
function numbered(base: string, c: { n: number }): string {
  const n = ++c.n;
  return n === 1 ? base : `${base}-${n}`;
}

let stack: Recorder[] = [];

/** @internal The recorder of the pipeline being defined, or an error naming the misuse. */
export function currentRecorder(what: string): Recorder {
  const r = stack[stack.length - 1];
  if (!r) {
    throw new Error(`${what} was called outside a pipeline: call it inside the function given to pipeline(...)`);
  }
  return r;
}

/** @internal Runs `fn` with `r` as the current recorder. */
export function withRecorder<R>(r: Recorder, fn: () => R): R {
  stack = [...stack, r];
  try {
    return fn();
  } finally {
    stack = stack.slice(0, -1);
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * A task: one call of a component inside a pipeline. Option methods return the same task so they
 * chain: `train({ ... }).retry({ limit: 3 }).resources({ gpu: 1 })`.
 */
export interface Task<O = Record<string, never>> extends NodeHandle {
  /** The task's id in the pipeline (unique; defaults to the component name, numbered on repeats). */
  readonly id: string;
  /** Typed references to the task's outputs. */
  readonly outputs: O;
  /**
   * Sets the task id (also its name in Argo). Ids are unique in a pipeline.
   * @example prepare({ source }).named('prepare-train')
   */
  named(id: string): this;
  /** Runs this task only after the given tasks, conditions or loops finished. */
  after(...nodes: NodeHandle[]): this;
  /** @example .retry({ limit: 3, on: 'error', backoff: { duration: '10s', factor: 2, max: '5m' } }) */
  retry(r: RetryOptions): this;
  /** @example .cache(false) or .cache({ version: '2' }) */
  cache(c: CacheOptions): this;
  /** Kills the step after this long. @example .timeout('30m') */
  timeout(d: Duration): this;
  /** @example .resources({ cpu: '2', memory: '4Gi', gpu: { count: 1, type: 'nvidia-h100-80gb' } }) */
  resources(r: ResourceOptions): this;
  /** Plain environment variables (never secrets: use `secretEnv`). */
  env(e: Record<string, string>): this;
  /** An environment variable read from a Kubernetes secret. @example .secretEnv('HF_TOKEN', { secret: 'hf', key: 'token' }) */
  secretEnv(name: string, ref: { secret: string; key: string }): this;
  /** An environment variable read from a config map. */
  configMapEnv(name: string, ref: { configMap: string; key: string }): this;
  /** Mounts a volume (secret, config map, PVC or emptyDir). */
  volume(v: VolumeIR): this;
  nodeSelector(s: Record<string, string>): this;
  toleration(t: TolerationIR): this;
  affinity(a: JsonObject): this;
  image(image: string, pullPolicy?: ImagePullPolicy): this;
  serviceAccount(name: string): this;
  labels(l: Record<string, string>): this;
  annotations(a: Record<string, string>): this;
  /** The name shown in UIs. */
  displayName(name: string): this;
  /**
   * Holds a named mutex while the task runs (across runs: one holder at a time).
   * @example trainOnSharedNode({ ... }).mutex('node-a100')
   */
  mutex(name: string): this;
  /**
   * Takes a slot of a semaphore whose size is a config map key on Argo; locally the size comes from `SLUICE_SEMAPHORES` or `.sluice/semaphores.json` (see the runner README).
   * @example fetch({ ... }).semaphore('limits', 'downloads')
   */
  semaphore(configMap: string, key: string): this;
  /** Sets several options at once. */
  options(o: TaskOptions): this;
}

/** The task handle; methods on the prototype, since large pipelines make many tasks. */
class TaskHandle implements Task<Record<string, AnyRef>> {
  readonly [NODE]: TaskRec;
  readonly outputs: Record<string, AnyRef>;
  constructor(rec: TaskRec, outputNames: readonly string[]) {
    this[NODE] = rec;
    const outputs: Record<string, AnyRef> = {};
    const specs = rec.def.ir.outputs;
    for (let i = 0; i < outputNames.length; i++) {
      const name = outputNames[i]!;
      outputs[name] = new OutputRef(rec, name, specs[name]!) as unknown as AnyRef;
    }
    this.outputs = Object.freeze(outputs);
  }
  get id(): string { return this[NODE].id; }
  #set(o: TaskOptions): this {
    const rec = this[NODE];
    rec.options = mergeTaskOptions(rec.options, parseTaskOptions(o));
    return this;
  }
  named(id: string): this {
    this[NODE].id = id;
    this[NODE].explicitId = true;
    return this;
  }
  after(...nodes: NodeHandle[]): this {
    const rec = this[NODE], r = rec.recorder;
    for (const n of nodes) {
      if (!n || !(NODE in n)) r.issue(() => ({ code: 'after.invalid', path: `${r.pipelineName}/${rec.id}/after`, message: `expected a task, condition or loop, got ${describe(n)}` }));
      else (rec.after === NO_WAITS ? (rec.after = []) : rec.after).push(n[NODE]);
    }
    return this;
  }
  retry(r: RetryOptions): this { return this.#set({ retry: r }); }
  cache(c: CacheOptions): this { return this.#set({ cache: c }); }
  timeout(d: Duration): this { return this.#set({ timeout: d }); }
  resources(r: ResourceOptions): this { return this.#set({ resources: r }); }
  env(e: Record<string, string>): this { return this.#set({ env: e }); }
  secretEnv(name: string, ref: { secret: string; key: string }): this { return this.#set({ secretEnv: { [name]: ref } }); }
  configMapEnv(name: string, ref: { configMap: string; key: string }): this { return this.#set({ configMapEnv: { [name]: ref } }); }
  volume(v: VolumeIR): this { return this.#set({ volumes: [v] }); }
  nodeSelector(sel: Record<string, string>): this { return this.#set({ nodeSelector: sel }); }
  toleration(t: TolerationIR): this { return this.#set({ tolerations: [t] }); }
  affinity(a: JsonObject): this { return this.#set({ affinity: a }); }
  image(image: string, pullPolicy?: ImagePullPolicy): this { return this.#set(pullPolicy ? { image, imagePullPolicy: pullPolicy } : { image }); }
  serviceAccount(name: string): this { return this.#set({ serviceAccount: name }); }
  labels(l: Record<string, string>): this { return this.#set({ labels: l }); }
  annotations(a: Record<string, string>): this { return this.#set({ annotations: a }); }
  displayName(name: string): this { return this.#set({ displayName: name }); }
  // Lists accumulate by the one merge rule (semantics/merge.ts), as they do across option layers.
  mutex(name: string): this { return this.#set({ synchronization: { mutexes: [name] } }); }
  semaphore(configMap: string, key: string): this { return this.#set({ synchronization: { semaphores: [{ configMap, key }] } }); }
  options(o: TaskOptions): this { return this.#set(o); }
}

/** @internal Records one call of a component in the current pipeline and returns its task handle. */
export function callComponent(def: ComponentDef, args: unknown): Task<Record<string, AnyRef>> {
  const r = stack[stack.length - 1] ?? currentRecorder(`component "${def.ir.name}"`);
  let use = def.use;
  if (use === undefined || use.recorder !== r) use = r.use(def);
  const scope = r.scope;
  const rec: TaskRec = {
    kind: 'task',
    id: numbered(use.base, use.counter),
    explicitId: false,
    def,
    inputs: NO_INPUTS,
    after: NO_WAITS,
    options: def.ir.defaults,
    scope,
    recorder: r,
    vertex: -1,
  };
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    r.issue(() => ({ code: 'input.args', path: taskPath(r, rec, 'inputs'), message: `expected an object of inputs, got ${describe(args)}` }));
  } else {
    const given = args as Record<string, unknown>, pairs = r.given;
    let k = 0;
    for (const name in given) {
      if (!Object.hasOwn(given, name)) continue;
      const source = recordInput(r, rec, name, given[name]);
      if (source !== undefined) { pairs[k++] = name; pairs[k++] = source; }
    }
    // The recorder's list is written over by the next call (no length reset, no growth per task).
    if (k > 0) rec.inputs = pairs.slice(0, k);
  }
  scope.push(rec);
  return new TaskHandle(rec, use.outputNames);
}

/** `<pipeline>/<task>/<suffix>`, read when an issue is reported (the task id is final by then). */
function taskPath(r: Recorder, rec: TaskRec, suffix: string): string {
  return `${r.pipelineName}/${rec.id}/${suffix}`;
}

/**
 * Checks one argument of a component call: a reference (type-checked against the input) or a
 * literal (validated). Returns what the input is bound to, or undefined when it is not recorded.
 */
function recordInput(r: Recorder, rec: TaskRec, name: string, value: unknown): ValueSource | undefined {
  const def = rec.def;
  const type = def.inputs[name];
  const spec = def.ir.inputs[name];
  if (type === undefined || spec === undefined) {
    const known = Object.keys(def.inputs);
    r.issue(() => ({
      code: 'input.unknown',
      path: taskPath(r, rec, `inputs.${name}`),
      message: `unknown input "${name}"; ${def.ir.name} takes ${known.length ? known.join(', ') : 'no inputs'}`,
    }));
    return undefined;
  }
  if (value === undefined) return undefined;
  if (isRef(value)) {
    const internals = value[REF];
    if (internals.spec) {
      const mismatch = specMismatch(internals.spec, spec);
      if (mismatch) r.issue(() => ({ code: 'input.type', path: taskPath(r, rec, `inputs.${name}`), message: mismatch }));
    }
    return internals;
  }
  if (isArtifactType(type)) {
    r.issue(() => ({ code: 'input.type', path: taskPath(r, rec, `inputs.${name}`), message: `expected a ${type.name} artifact, got the literal ${describe(value)}` }));
  }
  const checked = isArtifactType(type) ? { ok: true as const } : checkValue(type as z.ZodType, value, '', 'input.invalid');
  if (!checked.ok) {
    for (const i of checked.issues) r.issue(() => ({ ...i, path: taskPath(r, rec, `inputs.${name}${i.path}`) }));
  }
  if (!isJsonValue(value)) {
    r.issue(() => ({ code: 'input.json', path: taskPath(r, rec, `inputs.${name}`), message: `expected a JSON value, got ${describe(value)}` }));
    return undefined;
  }
  return new LiteralSource(value as import('./ir.ts').JsonValue);
}

/** @internal Converts records into IR nodes (ids are final by now). */
export function toNodes(recs: readonly NodeRec[]): NodeIR[] {
  return recs.map(toNode);
}

/** @internal One record as an IR node (a task's comes frozen). */
export function toNode(n: NodeRec): NodeIR {
  if (n.kind === 'task') return toTaskIR(n);
  const after = afterIds(n);
  switch (n.kind) {
    case 'condition':
      return { kind: 'condition', id: n.id, predicate: n.predicate(), then: toNodes(n.then), else: toNodes(n.else), after };
    case 'loop':
      return {
        kind: 'loop',
        id: n.id,
        items: n.items(),
        ...(n.parallelism !== undefined ? { parallelism: n.parallelism } : {}),
        body: toNodes(n.body),
        after,
      };
  }
}

/** Shared by every node that waits for nothing explicitly (the IR is frozen). */
const NO_AFTER: string[] = Object.freeze([]) as unknown as string[];

/** The ids a node waits for, distinct and sorted. */
function afterIds(n: NodeRec): string[] {
  if (n.after.length === 0) return NO_AFTER;
  if (n.after.length === 1) return [n.after[0]!.id];
  return sortedIds(n.after);
}

function sortedIds(nodes: readonly NodeRec[]): string[] {
  return [...new Set(nodes.map((a) => a.id))].sort();
}

/** A value's IR, frozen: an output reference is flat (a fresh object of strings), anything else is frozen deeply. */
function frozenValue(s: ValueSource): ValueIR {
  const v = s.value();
  return v.kind === 'output' ? Object.freeze(v) : deepFreeze(v);
}

// The rare cases of a task's IR (several inputs to sort, several waits) are functions of their
// own: the per-task function stays small for V8 to optimise.

/** Inputs by name, sorted, each value frozen. */
function sortedInputs(given: readonly (string | ValueSource)[]): Record<string, ValueIR> {
  const inputs: Record<string, ValueIR> = {};
  const order: number[] = [];
  for (let i = 0; i < given.length; i += 2) order.push(i);
  order.sort((a, b) => (given[a]! < given[b]! ? -1 : given[a]! > given[b]! ? 1 : 0));
  for (const i of order) inputs[given[i] as string] = frozenValue(given[i + 1] as ValueSource);
  return inputs;
}

export function toTaskIR(n: TaskRec): TaskIR {
  const given = n.inputs;
  let inputs: Record<string, ValueIR>;
  if (given.length === 2) {
    inputs = {};
    inputs[given[0] as string] = frozenValue(given[1] as ValueSource);
  } else inputs = sortedInputs(given);
  // Frozen here (deeply), so that freezing the whole IR does not walk every task again. The
  // shared empty list and a component's defaults (frozen with its IR) need no freezing.
  const after = afterIds(n);
  return Object.freeze({
    kind: 'task',
    id: n.id,
    component: n.def.hash,
    inputs: Object.freeze(inputs),
    after: after === NO_AFTER ? after : Object.freeze(after),
    options: n.options === n.def.ir.defaults ? n.options : deepFreeze(n.options),
  });
}

/** @internal Spec helpers for loop items and fan-in. */
export function itemSpecOf(items: unknown, itemsSpec: IOSpec | undefined): IOSpec | undefined {
  if (Array.isArray(items)) {
    const first: unknown = items[0];
    const t = typeof first;
    if (items.every((i) => typeof i === t)) {
      const type = t === 'number' ? (items.every((i) => Number.isInteger(i)) ? 'integer' : 'number') : t === 'string' ? 'string' : t === 'boolean' ? 'boolean' : first === null ? 'any' : Array.isArray(first) ? 'array' : t === 'object' ? 'object' : 'any';
      return { kind: 'parameter', type, schema: type === 'any' ? {} : { type }, optional: false };
    }
    return { kind: 'parameter', type: 'any', schema: {}, optional: false };
  }
  if (itemsSpec?.kind === 'parameter') {
    const itemSchema = (itemsSpec.schema as { items?: Record<string, unknown> }).items ?? {};
    const t = itemSchema['type'];
    return {
      kind: 'parameter',
      type: typeof t === 'string' && ['string', 'number', 'integer', 'boolean', 'array', 'object'].includes(t) ? (t as 'string') : 'any',
      schema: itemSchema as JsonObject,
      optional: false,
    };
  }
  return undefined;
}

export { PRED, type Condition };
