/** Defining pipelines: the builder API, conversion to IR, and what the executor needs at run time. */
import type { z } from 'zod';
import {
  NODE, Recorder, callComponent, currentRecorder, itemSpecOf, withRecorder,
  type ComponentDef, type CondRec, type LoopRec, type NodeHandle, type NodeRec, type Task, type TaskRec,
} from './builder.ts';
import { SluiceValidationError, type SluiceIssue } from './errors.ts';
import { contentHash, deepFreeze } from './hash.ts';
import { IR_VERSION, type IOSpec, type JsonValue, type PipelineComponentIR, type PipelineIR, type ValueIR, type FunctionComponentIR } from './ir.ts';
import { parsePipelineOptions, type PipelineOptions } from './options.ts';
import { PRED, REF, isCondition, isRef, makeRef, type AnyRef, type ArtifactListRef, type ArtifactRef, type Condition, type ParamRef } from './refs.ts';
import { checkValue, ioSpecOf, isJsonValue, type IOShape } from './schema.ts';
import type { TaskArgs, TaskOutputs, OutputRefShape } from './types.ts';
import { validatePipelineIR } from './validate.ts';
import { RecordedDag } from './recorded.ts';
import { markValidated } from './validated.ts';
import type { StepContext } from './runtime.ts';

/** The references a pipeline function receives for its parameters. */
export type ParamRefs<P extends IOShape> = TaskOutputs<P>;

/** A condition's handle: add an else branch with `otherwise`, or order other tasks `after` it. */
export interface When<R> extends NodeHandle {
  readonly id: string;
  /**
   * The else branch. Returns the branches' handle; when both branches return a reference of the
   * same type, `.value` is whichever one ran.
   */
  otherwise<R2>(fn: () => R2): Branches<R, R2>;
}

/** A condition with both branches. */
export interface Branches<R1, R2> extends NodeHandle {
  readonly id: string;
  /** The value from the branch that ran (both branches must return a reference). */
  readonly value: R1 | R2;
}

/** A loop's handle. */
export interface Loop<R> extends NodeHandle {
  readonly id: string;
  /**
   * Fan-in: the list of one output over every iteration, in item order.
   *
   * @example
   * const sweep = p.forEach([0.01, 0.1], (lr) => train({ data, lr }));
   * pickBest({ metrics: sweep.collect((t) => t.outputs.metrics) });
   */
  collect<T>(pick: (iteration: R) => ParamRef<T>): ParamRef<T[]>;
  collect<N extends string>(pick: (iteration: R) => ArtifactRef<N>): ArtifactListRef<N>;
}

export interface ForEachOptions {
  /** Iterations at once. @default unbounded */
  parallelism?: number;
  /** The loop's id. @default 'for-each', numbered on repeats */
  name?: string;
}

/** The second argument of a pipeline function: control flow and run-level values. */
export interface PipelineBuilder {
  /**
   * Runs `then` only when `condition` holds. Chain `.otherwise(...)` for an else branch.
   *
   * @example
   * p.when(score.outputs.accuracy.gte(minAccuracy), () => register({ model }))
   *  .otherwise(() => alert({ reason: 'accuracy below bar' }));
   */
  when<R>(condition: Condition, then: () => R, options?: { name?: string }): When<R>;
  /**
   * Runs `body` once per item (a literal list, a list parameter or a list output), `parallelism`
   * at a time.
   *
   * @example
   * const sweep = p.forEach([0.01, 0.1, 1], (lr) => train({ data, lr }), { parallelism: 2 });
   */
  forEach<T, R>(items: readonly T[] | ParamRef<readonly T[]> | ParamRef<T[]>, body: (item: ParamRef<T>) => R, options?: ForEachOptions): Loop<R>;
  /**
   * Runs a task after everything else, whatever the outcome. Give it a task (it leaves the DAG) or
   * a function that adds exactly one task. Read the outcome with `p.status`.
   *
   * @example
   * p.onExit(notify({ status: p.status }));
   */
  onExit(handler: Task<unknown> | (() => Task<unknown>)): void;
  /** The run's final status (`Succeeded`, `Failed` or `Error`): only valid in the exit handler. */
  readonly status: ParamRef<'Succeeded' | 'Failed' | 'Error'>;
}

/** A pipeline's definition. */
export interface PipelineConfig<P extends IOShape> extends PipelineOptions {
  /** Lowercase DNS-1123 name. */
  name: string;
  description?: string;
  /** Run parameters (zod schemas or artifact types). */
  params?: P;
}

/** @internal */
export const PIPELINE = Symbol.for('sluice.pipeline');

/** What building a pipeline yields: its IR and every component definition by hash. */
export interface BuiltPipeline {
  readonly ir: PipelineIR;
  readonly components: ReadonlyMap<string, ComponentDef>;
}

/**
 * A pipeline. Compile it, run it, or call it inside another pipeline as a component.
 */
export interface Pipeline<P extends IOShape = IOShape, R extends OutputRefShape = OutputRefShape> {
  (args: TaskArgs<P>): Task<R>;
  readonly pipelineName: string;
  /** The pipeline's parameter declarations. */
  readonly params: P;
  /** @internal */
  readonly [PIPELINE]: { build(): BuiltPipeline };
}

export function isPipeline(x: unknown): x is Pipeline {
  return typeof x === 'function' && PIPELINE in x;
}

/**
 * Defines a pipeline. The function runs once, when the pipeline is first compiled or run, to
 * record its tasks; it must not do real work itself.
 *
 * @example
 * export default pipeline(
 *   { name: 'iris', params: { source: z.string(), minAccuracy: z.number().default(0.9) } },
 *   ({ source, minAccuracy }, p) => {
 *     const data = prepare({ source });
 *     const fit = train({ data: data.outputs.train, lr: 0.1 }).retry({ limit: 3 });
 *     return { model: fit.outputs.model };
 *   },
 * );
 */
export function pipeline<const P extends IOShape = {}, R extends OutputRefShape = {}>(
  config: PipelineConfig<P>,
  fn: (params: ParamRefs<P>, p: PipelineBuilder) => R | void,
): Pipeline<P, R> {
  if (typeof config?.name !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(config.name)) {
    throw new TypeError(`pipeline: name "${String(config?.name)}" must be lowercase letters, digits and '-', 1 to 63 characters`);
  }
  const params = (config.params ?? {}) as P;
  let built: BuiltPipeline | undefined;
  const build = (): BuiltPipeline => (built ??= buildPipeline(config, params, fn as (params: unknown, p: PipelineBuilder) => unknown));

  let asComponent: ComponentDef | undefined;
  const call = (args: unknown) => {
    currentRecorder(`pipeline "${config.name}"`);
    asComponent ??= pipelineComponentDef(config.name, params, build());
    return callComponent(asComponent, args);
  };
  Object.defineProperties(call, {
    pipelineName: { value: config.name, enumerable: true },
    params: { value: params, enumerable: true },
    [PIPELINE]: { value: { build } },
  });
  return Object.freeze(call) as unknown as Pipeline<P, R>;
}

function pipelineComponentDef(name: string, params: IOShape, b: BuiltPipeline): ComponentDef {
  const ir: PipelineComponentIR = deepFreeze({
    kind: 'pipeline',
    name,
    ...(b.ir.description ? { description: b.ir.description } : {}),
    inputs: b.ir.params,
    outputs: b.ir.outputs,
    defaults: {},
    dag: b.ir.dag,
    outputValues: b.ir.outputValues,
  });
  const outputs: IOShape = {};
  return { hash: contentHash(ir), ir, inputs: params, outputs, nested: b.components };
}

function buildPipeline(config: PipelineConfig<IOShape>, params: IOShape, fn: (params: unknown, p: PipelineBuilder) => unknown): BuiltPipeline {
  const rec = new Recorder(config.name);
  const name = config.name;
  const paramSpecs: Record<string, IOSpec> = {};
  const paramRefs: Record<string, AnyRef> = {};
  for (const k of Object.keys(params).sort()) {
    const spec = ioSpecOf(params[k]!);
    paramSpecs[k] = spec;
    paramRefs[k] = makeRef({ value: () => ({ kind: 'param', name: k }), spec });
  }
  const returned = withRecorder(rec, () => fn(paramRefs, pipelineBuilder(rec, name)));
  const issues: SluiceIssue[] = rec.issues.map((m) => m());
  const { outputs, outputValues } = pipelineOutputs(returned, name, issues);
  const components: Record<string, import('./ir.ts').ComponentIR> = {};
  for (const h of [...rec.components.keys()].sort()) components[h] = rec.components.get(h)!.ir;
  const recorded = new RecordedDag(rec, paramSpecs, issues.length === 0);
  const ir: PipelineIR = {
    kind: 'pipeline',
    irVersion: IR_VERSION,
    name,
    ...(config.description ? { description: config.description } : {}),
    params: paramSpecs,
    outputs,
    outputValues,
    components,
    dag: recorded.dag,
    exitHandler: recorded.exitHandler,
    options: parsePipelineOptions(config),
  };
  // Each fact once: when the records prove the DAG valid, the validator checks only the rest.
  issues.push(...((issues.length === 0 ? recorded.issuesOf(ir) : undefined) ?? validatePipelineIR(ir)));
  if (issues.length > 0) throw new SluiceValidationError(dedupe(issues), `pipeline "${name}"`);
  return { ir: markValidated(deepFreeze(ir)), components: rec.components };
}

/** The second argument of the pipeline function: control flow recorded into `rec`. */
function pipelineBuilder(rec: Recorder, name: string): PipelineBuilder {
  return {
    when: (condition, then, options) => recordWhen(rec, name, condition, then, options),
    forEach: (items, body, options) => recordForEach(rec, name, items, body as (item: unknown) => unknown, options),
    onExit: (handler) => recordOnExit(name, handler),
    status: makeRef({
      value: () => ({ kind: 'status' }),
      spec: { kind: 'parameter', type: 'string', schema: { type: 'string', enum: ['Succeeded', 'Failed', 'Error'] }, optional: false },
    }) as ParamRef<'Succeeded' | 'Failed' | 'Error'>,
  };
}

/** `p.when`: a condition node whose branches record into their own scopes. */
function recordWhen(rec: Recorder, name: string, condition: Condition, then: () => unknown, options: { name?: string } | undefined): When<never> {
  const r = currentRecorder('p.when');
  if (!isCondition(condition)) {
    r.issue(() => ({ code: 'condition.invalid', path: `${name}/when`, message: `expected a condition such as out.gte(0.9), got ${typeof condition}` }));
  }
  const node: CondRec = {
    kind: 'condition',
    id: options?.name ?? rec.autoId('condition'),
    predicate: isCondition(condition) ? condition[PRED] : () => ({ kind: 'compare', op: '==', left: { kind: 'literal', value: true }, right: { kind: 'literal', value: true } }),
    then: [],
    else: [],
    after: [],
  };
  r.scope.push(node);
  const thenResult = r.inScope(node.then, then);
  const handle: When<unknown> = {
    [NODE]: node,
    get id() { return node.id; },
    otherwise(fn2) {
      const elseResult = r.inScope(node.else, fn2);
      return {
        [NODE]: node,
        get id() { return node.id; },
        get value() { return branchValue(name, node, thenResult, elseResult); },
      } as Branches<unknown, never>;
    },
  };
  return handle as When<never>;
}

/** `.value` of a condition with both branches: the output of whichever branch ran. */
function branchValue(name: string, node: CondRec, thenResult: unknown, elseResult: unknown): AnyRef {
  if (!isRef(thenResult) || !isRef(elseResult)) {
    throw new TypeError(`${name}/${node.id}: .value needs both branches to return a task output reference`);
  }
  const sa = thenResult[REF], sb = elseResult[REF];
  if (!sa.source || !sb.source) throw new TypeError(`${name}/${node.id}: .value needs both branches to return an output of a task inside the branch`);
  return makeRef({
    value: () => {
      const va = sa.value(), vb = sb.value();
      if (va.kind !== 'output' || vb.kind !== 'output') throw new Error('unreachable');
      return { kind: 'oneOf', condition: node.id, options: [va, vb] };
    },
    spec: sa.spec,
  });
}

/** `p.forEach`: a loop node whose body records once, with the item as a reference. */
function recordForEach(rec: Recorder, name: string, items: unknown, body: (item: unknown) => unknown, options: ForEachOptions | undefined): Loop<never> {
  const r = currentRecorder('p.forEach');
  const id = options?.name ?? rec.autoId('for-each');
  const itemsRef = isRef(items) ? items[REF] : undefined;
  if (!itemsRef && !Array.isArray(items)) {
    r.issue(() => ({ code: 'loop.items', path: `${name}/${id}/items`, message: `expected a list or a list reference, got ${typeof items}` }));
  } else if (!itemsRef && !isJsonValue(items)) {
    r.issue(() => ({ code: 'loop.items', path: `${name}/${id}/items`, message: 'expected a list of JSON values' }));
  }
  const node: LoopRec = {
    kind: 'loop',
    id,
    items: itemsRef ? () => itemsRef.value() : () => ({ kind: 'literal', value: (Array.isArray(items) ? items : []) as JsonValue }),
    parallelism: options?.parallelism,
    body: [],
    after: [],
  };
  r.scope.push(node);
  const item = makeRef({ value: () => ({ kind: 'item', loop: node.id, path: [] }), spec: itemSpecOf(itemsRef ? undefined : items, itemsRef?.spec) });
  const result = r.inScope(node.body, () => body(item));
  const loop: Loop<unknown> = {
    [NODE]: node,
    get id() { return node.id; },
    collect(pick: (iteration: unknown) => unknown) { return collectRef(name, node, pick(result)); },
  } as Loop<unknown>;
  return loop as Loop<never>;
}

/** `loop.collect`: the list of one task output over every iteration. */
function collectRef(name: string, node: LoopRec, picked: unknown): never {
  if (!isRef(picked) || !picked[REF].source) {
    throw new TypeError(`${name}/${node.id}: collect must pick an output of a task inside the loop`);
  }
  const src = picked[REF];
  const spec: IOSpec | undefined = src.spec?.kind === 'artifact'
    ? { ...src.spec, list: true }
    : src.spec?.kind === 'parameter'
      ? { kind: 'parameter', type: 'array', schema: { type: 'array', items: src.spec.schema }, optional: false }
      : undefined;
  return makeRef({
    value: () => ({ kind: 'collect', loop: node.id, task: src.source!.taskId(), output: src.source!.output }),
    spec,
  }) as never;
}

/** `p.onExit`: the task (given, or added by a function) leaves the DAG and runs last. */
function recordOnExit(name: string, handler: Task<unknown> | (() => Task<unknown>)): void {
  const r = currentRecorder('p.onExit');
  if (typeof handler === 'function') {
    const scratch: NodeRec[] = [];
    r.inScope(scratch, handler as () => unknown);
    if (scratch.length !== 1 || scratch[0]!.kind !== 'task') {
      r.issue(() => ({ code: 'exit.invalid', path: `${name}/onExit`, message: `the exit handler must add exactly one task, it added ${scratch.length} nodes` }));
      return;
    }
    r.exitHandler = scratch[0] as TaskRec;
    return;
  }
  const node = handler?.[NODE];
  if (!node || node.kind !== 'task') {
    r.issue(() => ({ code: 'exit.invalid', path: `${name}/onExit`, message: 'expected a task or a function adding one task' }));
    return;
  }
  const i = node.scope.indexOf(node);
  if (i >= 0) node.scope.splice(i, 1);
  if (r.exitHandler) r.issue(() => ({ code: 'exit.duplicate', path: `${name}/onExit`, message: 'a pipeline has at most one exit handler' }));
  r.exitHandler = node;
}

/** The pipeline function's returned references, as declared outputs and their values. */
function pipelineOutputs(returned: unknown, name: string, issues: SluiceIssue[]): { outputs: Record<string, IOSpec>; outputValues: Record<string, ValueIR> } {
  const outputs: Record<string, IOSpec> = {};
  const outputValues: Record<string, ValueIR> = {};
  if (returned === undefined || returned === null) return { outputs, outputValues };
  if (typeof returned !== 'object') {
    issues.push({ code: 'output.invalid', path: `${name}/outputs`, message: `a pipeline function returns an object of output references, got ${typeof returned}` });
    return { outputs, outputValues };
  }
  for (const k of Object.keys(returned).sort()) {
    const v = (returned as Record<string, unknown>)[k];
    if (!isRef(v)) {
      issues.push({ code: 'output.invalid', path: `${name}/outputs.${k}`, message: 'expected a task output reference' });
      continue;
    }
    outputValues[k] = v[REF].value();
    outputs[k] = v[REF].spec ?? { kind: 'parameter', type: 'any', schema: {}, optional: false };
  }
  return { outputs, outputValues };
}

function dedupe(issues: SluiceIssue[]): SluiceIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * The pipeline's IR: frozen, JSON-serialisable. Throws `SluiceValidationError` listing every
 * problem when the pipeline is invalid.
 *
 * @example
 * const ir = toIR(myPipeline);
 * fs.writeFileSync('ir.json', JSON.stringify(ir));
 */
export function toIR(p: Pipeline<any, any>): PipelineIR {
  return p[PIPELINE].build().ir;
}

/** What the executor needs to run one function component. */
export interface FunctionRuntime {
  readonly ir: FunctionComponentIR;
  readonly hash: string;
  /** Validates parameter inputs with the zod schemas (applying defaults); artifact inputs pass through. */
  parseInputs(values: Record<string, unknown>, path: string): { ok: true; values: Record<string, unknown> } | { ok: false; issues: SluiceIssue[] };
  /** Validates the parameter outputs `run` returned. */
  parseOutputs(values: unknown, path: string): { ok: true; values: Record<string, unknown> } | { ok: false; issues: SluiceIssue[] };
  run(inputs: Record<string, unknown>, ctx: StepContext<Record<string, unknown>>): Promise<Record<string, unknown> | void>;
}

function parseShape(shape: IOShape, values: Record<string, unknown>, path: string, what: 'inputs' | 'outputs') {
  const issues: SluiceIssue[] = [];
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(values)) {
    if (!(k in shape)) issues.push({ code: `${what === 'inputs' ? 'input' : 'output'}.unknown`, path: `${path}/${what}.${k}`, message: `unknown ${what === 'inputs' ? 'input' : 'output'} "${k}"` });
  }
  for (const [k, t] of Object.entries(shape)) {
    if ((t as { kind?: string }).kind === 'artifactType') {
      if (values[k] !== undefined) out[k] = values[k];
      else if (what === 'inputs') issues.push({ code: 'input.missing', path: `${path}/${what}.${k}`, message: 'required artifact input is missing' });
      continue;
    }
    const r = checkValue(t as z.ZodType, values[k], `${path}/${what}.${k}`, what === 'inputs' ? 'input.invalid' : 'output.invalid');
    if (r.ok) out[k] = r.value;
    else issues.push(...r.issues);
  }
  return issues.length ? { ok: false as const, issues } : { ok: true as const, values: out };
}

/**
 * Every function component of a pipeline (nested ones included), by component hash: what the
 * executor calls.
 */
export function functionRuntimes(p: Pipeline<any, any>): ReadonlyMap<string, FunctionRuntime> {
  const out = new Map<string, FunctionRuntime>();
  for (const [hash, def] of p[PIPELINE].build().components) {
    if (def.ir.kind !== 'function' || !def.run) continue;
    const run = def.run;
    out.set(hash, {
      ir: def.ir,
      hash,
      parseInputs: (values, path) => parseShape(def.inputs, values, path, 'inputs'),
      parseOutputs: (values, path) => {
        const v = values === undefined || values === null ? {} : values;
        if (typeof v !== 'object' || Array.isArray(v)) {
          return { ok: false, issues: [{ code: 'output.invalid', path: `${path}/outputs`, message: `run must return an object of parameter outputs, got ${JSON.stringify(v)}` }] };
        }
        const paramShape: Record<string, IOShape[string]> = {};
        for (const [k, t] of Object.entries(def.outputs)) if ((t as { kind?: string }).kind !== 'artifactType') paramShape[k] = t;
        return parseShape(paramShape, v as Record<string, unknown>, path, 'outputs');
      },
      run: async (inputs, ctx) => (await run(inputs, ctx)) as Record<string, unknown> | void,
    });
  }
  return out;
}

/**
 * Validates run parameters (applying defaults). With `partial`, parameters not given are left out
 * (required ones too: a compiled template declares them for submission). With `fromCli`, string values are read as JSON
 * for non-string parameters (`--param lr=0.1`). Errors name the parameter:
 * `iris/params.lr: expected number, got "fast"`.
 *
 * @example
 * const r = parsePipelineParams(iris, { source: 'iris.csv', lr: '0.1' }, { fromCli: true });
 * if (!r.ok) console.error(formatIssues(r.issues));
 */
export function parsePipelineParams(
  p: Pipeline<any, any>,
  raw: Record<string, unknown>,
  options: { fromCli?: boolean; partial?: boolean } = {},
): { ok: true; values: Record<string, JsonValue> } | { ok: false; issues: SluiceIssue[] } {
  const ir = toIR(p);
  // `partial`: only the parameters given are checked (compiling a template whose required
  // parameters are supplied at submission).
  const shape = p.params as IOShape;
  const issues: SluiceIssue[] = [];
  const values: Record<string, JsonValue> = {};
  for (const k of Object.keys(raw)) {
    if (!(k in shape)) issues.push({ code: 'param.unknown', path: `${ir.name}/params.${k}`, message: `unknown parameter "${k}"; ${ir.name} takes ${Object.keys(shape).join(', ') || 'no parameters'}` });
  }
  for (const [k, t] of Object.entries(shape)) {
    let v = raw[k];
    if (options.partial && v === undefined) continue;
    const spec = ir.params[k]!;
    if (spec.kind === 'artifact') {
      if (v === undefined) issues.push({ code: 'param.missing', path: `${ir.name}/params.${k}`, message: `required ${spec.artifactType} artifact parameter is missing (give a file path)` });
      else values[k] = v as JsonValue;
      continue;
    }
    if (options.fromCli && typeof v === 'string' && spec.type !== 'string') {
      try {
        v = JSON.parse(v);
      } catch {
        /* keep the raw text so the error shows what was given */
      }
    }
    const r = checkValue(t as z.ZodType, v, `${ir.name}/params.${k}`, 'param.invalid');
    if (!r.ok) {
      issues.push(...r.issues.map((i) => (v === undefined ? { ...i, code: 'param.missing', message: `required parameter is missing (${spec.type})` } : i)));
      continue;
    }
    if (r.value !== undefined) values[k] = r.value as JsonValue;
  }
  return issues.length ? { ok: false, issues } : { ok: true, values };
}

export type { Task };
