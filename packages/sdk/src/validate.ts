/**
 * Static validation of a pipeline's IR: every problem, each with its path, before anything is
 * compiled or run. Works on plain IR, so it also guards IR read from JSON.
 */
import * as graphlib from '@dagrejs/graphlib';
import type { SluiceIssue } from './errors.ts';
import {
  IR_VERSION, type ComponentIR, type IOSpec, type JsonValue, type LoopIR, type NodeIR, type PipelineIR, type PredicateIR, type SynchronizationIR, type TaskIR,
  type TaskOptionsIR, type ValueIR,
} from './ir.ts';
import { isQuantity, parseDuration } from './options.ts';
import { taskIdProblem } from './semantics/names.ts';
import { trackingOptionIssues } from './semantics/tracking.ts';

const ENV = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why a value described by `out` cannot feed an input described by `into`, or undefined when it can. */
export function specMismatch(out: IOSpec, into: IOSpec): string | undefined {
  if (out.kind === 'artifact' && into.kind === 'parameter') return `expected ${article(into.type)} ${into.type} parameter, got a ${out.artifactType}${out.list ? ' list' : ''} artifact`;
  if (out.kind === 'parameter' && into.kind === 'artifact') return `expected a ${into.artifactType} artifact, got ${article(out.type)} ${out.type} parameter`;
  if (out.kind === 'artifact' && into.kind === 'artifact') {
    if (out.list !== into.list) {
      return into.list
        ? `expected a list of ${into.artifactType} artifacts (from collect), got a single ${out.artifactType} artifact`
        : `expected a single ${into.artifactType} artifact, got a list of ${out.artifactType} artifacts`;
    }
    if (into.artifactType !== 'Artifact' && out.artifactType !== into.artifactType) {
      return `expected a ${into.artifactType} artifact, got a ${out.artifactType} artifact`;
    }
    return undefined;
  }
  if (out.kind === 'parameter' && into.kind === 'parameter') {
    if (out.type === 'any' || into.type === 'any' || out.type === into.type) return undefined;
    if (out.type === 'integer' && into.type === 'number') return undefined;
    return `expected ${into.type}, got ${out.type}`;
  }
  return undefined;
}

function article(w: string): string {
  return /^[aeiou]/.test(w) ? 'an' : 'a';
}

/** Whether a literal is of a declared parameter type. */
const LITERAL_OK: Record<string, (x: JsonValue) => boolean> = {
  string: (x) => typeof x === 'string',
  number: (x) => typeof x === 'number',
  integer: (x) => Number.isInteger(x),
  boolean: (x) => typeof x === 'boolean',
  array: (x) => Array.isArray(x),
  object: (x) => typeof x === 'object' && x !== null && !Array.isArray(x),
  any: () => true,
};

/** @internal Why a literal cannot feed an input described by `into`, or undefined when it can. */
export function literalMismatch(v: JsonValue, into: IOSpec): string | undefined {
  if (into.kind === 'artifact') return `expected a ${into.artifactType} artifact, got the literal ${JSON.stringify(v)}`;
  return LITERAL_OK[into.type]!(v) ? undefined : `expected ${into.type}, got ${JSON.stringify(v)}`;
}

/** Where a node sits: its chain of enclosing loops and condition branches, outermost first. */
type Scope = readonly string[];

interface NodeInfo {
  readonly node: NodeIR;
  /** Position in walk order: the node's vertex in the dependency graph. */
  readonly index: number;
  /** Enclosing frames: `loop:<id>`, `cond:<id>:then`, `cond:<id>:else`. */
  readonly scope: Scope;
  /** Enclosing node ids (loops and conditions), outermost first (shared by siblings). */
  readonly outer: readonly string[];
}

const TOP: readonly string[] = [];

/** Enclosing node ids, outermost first, then the node itself. */
function chainOf(info: NodeInfo): readonly string[] {
  return info.outer.length ? [...info.outer, info.node.id] : [info.node.id];
}

/** What one DAG (the pipeline's or a nested pipeline component's) is checked against. */
interface DagInput {
  readonly name: string;
  readonly params: PipelineIR['params'];
  readonly dag: readonly NodeIR[];
  readonly outputValues: PipelineIR['outputValues'];
  readonly outputs: PipelineIR['outputs'];
  readonly components: PipelineIR['components'];
  readonly exitHandler: TaskIR | null;
}

/**
 * Checks a pipeline's IR and returns every problem found (empty when valid): unknown components,
 * unknown or missing inputs, type mismatches, references to nothing, data taken out of a loop
 * without `collect` or out of a condition without a value on every branch, duplicate ids, cycles,
 * bad quantities and durations.
 *
 * @example
 * const issues = validatePipelineIR(ir);
 * if (issues.length) throw new SluiceValidationError(issues);
 */
export function validatePipelineIR(ir: PipelineIR): SluiceIssue[] {
  const issues: SluiceIssue[] = [];
  if (ir?.kind !== 'pipeline') return [{ code: 'ir.kind', path: String(ir?.name ?? '<pipeline>'), message: `expected an IR object with kind "pipeline", got ${JSON.stringify(ir?.kind)}` }];
  if (ir.irVersion !== IR_VERSION) {
    return [{ code: 'ir.version', path: ir.name, message: `IR version ${JSON.stringify(ir.irVersion)} is not supported (this Sluice reads version ${IR_VERSION})`, hint: 'compile with the Sluice version that wrote it, or upgrade' }];
  }
  if (!ir.dag.length) issues.push({ code: 'pipeline.empty', path: ir.name, message: 'the pipeline has no tasks (Argo refuses an empty DAG, and a run of it would do nothing)', hint: 'call at least one component in the pipeline function' });
  const options = new OptionsChecker(issues);
  validateDag({ name: ir.name, params: ir.params, dag: ir.dag, outputValues: ir.outputValues, outputs: ir.outputs, components: ir.components, exitHandler: ir.exitHandler }, options, issues);
  validateBesidesDag(ir, options, issues);
  return issues;
}

/**
 * @internal What `validatePipelineIR` checks besides the pipeline's own DAG (its nodes, exit
 * handler and outputs), in the same order: nested pipeline components, component defaults, the
 * pipeline's options. The builder calls it when its records prove the DAG valid (`recorded.ts`).
 */
export function validateBesidesDag(ir: PipelineIR, options: OptionsChecker, issues: SluiceIssue[]): void {
  for (const hash in ir.components) {
    const c = ir.components[hash]!;
    if (c.kind === 'pipeline') validateDag({ name: `${ir.name}/${c.name}`, params: c.inputs, dag: c.dag, outputValues: c.outputValues, outputs: c.outputs, components: ir.components, exitHandler: null }, options, issues);
    options.check(`${ir.name}/components.${c.name}/defaults`, c.defaults);
  }
  checkPipelineOptions(ir, options, issues);
}

function checkPipelineOptions(ir: PipelineIR, options: OptionsChecker, issues: SluiceIssue[]): void {
  const o = ir.options;
  const at = `${ir.name}/options`;
  if (o.ttlSeconds !== undefined && !(Number.isFinite(o.ttlSeconds) && o.ttlSeconds >= 0)) issues.push({ code: 'option.duration', path: `${at}.ttl`, message: 'expected a duration such as "1h" or a number of seconds' });
  if (o.deadlineSeconds !== undefined && !(Number.isFinite(o.deadlineSeconds) && o.deadlineSeconds > 0)) issues.push({ code: 'option.duration', path: `${at}.deadline`, message: 'expected a duration such as "1h" or a number of seconds' });
  if (o.parallelism !== undefined && !(Number.isInteger(o.parallelism) && o.parallelism > 0)) issues.push({ code: 'option.parallelism', path: `${at}.parallelism`, message: `expected a positive integer, got ${JSON.stringify(o.parallelism)}` });
  if (o.taskDefaults) options.check(`${at}.taskDefaults`, o.taskDefaults);
  if (o.synchronization) checkSynchronization(`${at}.synchronization`, o.synchronization, issues);
  if (o.tracking) issues.push(...trackingOptionIssues(o.tracking, `${at}.tracking`));
}

/** The passes over one DAG: index the nodes, check each node and binding, then report cycles. */
function validateDag(input: DagInput, options: OptionsChecker, issues: SluiceIssue[]): void {
  const { infos, all } = indexNodes(input, issues);
  const v = new DagValidator(input, infos, all.length, options, issues);
  for (const info of all) v.checkNode(info);
  if (input.exitHandler) v.checkTask(input.exitHandler, [], true);
  v.checkOutputs();
  v.graph.reportCycles(input.name, all, issues);
}

/** Pass 1: every node by id, with where it sits; invalid and duplicate ids are reported. */
function indexNodes(input: DagInput, issues: SluiceIssue[]): { infos: Map<string, NodeInfo>; all: NodeInfo[] } {
  const { name, exitHandler } = input;
  const infos = new Map<string, NodeInfo>();
  const all: NodeInfo[] = [];
  const walk = (nodes: readonly NodeIR[], scope: Scope, chain: readonly string[]) => {
    for (const n of nodes) {
      const bad = taskIdProblem(n.id);
      if (bad) issues.push({ code: 'id.invalid', path: `${name}/${n.id}`, message: bad, hint: 'name it with .named(...)' });
      const info: NodeInfo = { node: n, index: all.length, scope, outer: chain };
      all.push(info);
      if (infos.has(n.id)) issues.push({ code: 'id.duplicate', path: `${name}/${n.id}`, message: `duplicate name "${n.id}": task, condition and loop names are unique in a pipeline`, hint: 'give one of them another name with .named(...)' });
      else infos.set(n.id, info);
      if (n.kind === 'condition') {
        const inner = chainOf(info);
        walk(n.then, [...scope, `cond:${n.id}:then`], inner);
        walk(n.else, [...scope, `cond:${n.id}:else`], inner);
      } else if (n.kind === 'loop') {
        walk(n.body, [...scope, `loop:${n.id}`], chainOf(info));
      }
    }
  };
  walk(input.dag, TOP, TOP);
  if (exitHandler && infos.has(exitHandler.id)) issues.push({ code: 'id.duplicate', path: `${name}/${exitHandler.id}`, message: `duplicate name "${exitHandler.id}": the exit handler's name is taken` });
  return { infos, all };
}

const EXIT_REF = 'the exit handler can read parameters and p.status, not task outputs';

/** Pass 2: each node's waits, inputs, predicate or items, and the DAG's outputs; collects the dependency graph. */
class DagValidator {
  readonly graph: DependencyGraph;
  constructor(
    private readonly input: DagInput,
    private readonly infos: ReadonlyMap<string, NodeInfo>,
    nodeCount: number,
    private readonly options: OptionsChecker,
    private readonly issues: SluiceIssue[],
  ) {
    this.graph = new DependencyGraph(nodeCount);
  }

  checkNode(info: NodeInfo): void {
    const n = info.node;
    // Paths are made only where they are used: a valid 10,000-task pipeline reports nothing.
    if (n.after.length) {
      const at = `${this.input.name}/${n.id}`;
      for (const a of n.after) {
        if (!this.infos.has(a)) this.issues.push({ code: 'after.unknown', path: `${at}/after`, message: `waits for unknown task "${a}"` });
        else this.edge(a, n.id, `${at}/after`);
      }
    }
    if (n.kind === 'task') this.checkTask(n, info.scope, false);
    else if (n.kind === 'condition') this.checkPredicate(n.predicate, `${this.input.name}/${n.id}/when`, info.scope, n.id);
    else this.checkLoop(n, `${this.input.name}/${n.id}`, info.scope);
  }

  checkTask(t: TaskIR, scope: Scope, inExit: boolean): void {
    const comp: ComponentIR | undefined = this.input.components[t.component];
    if (!comp) {
      this.issues.push({ code: 'component.unknown', path: `${this.input.name}/${t.id}/component`, message: `refers to unknown component "${t.component}"` });
    } else {
      for (const k in t.inputs) this.checkInput(t, k, comp, scope, inExit);
      for (const k in comp.inputs) {
        const spec = comp.inputs[k]!;
        if (!spec.optional && !(k in t.inputs)) {
          this.issues.push({ code: 'input.missing', path: `${this.input.name}/${t.id}/inputs.${k}`, message: `required input "${k}" is missing (${spec.kind === 'artifact' ? `${spec.artifactType} artifact` : spec.type})` });
        }
      }
    }
    if (!this.options.isClean(t.options)) this.options.check(`${this.input.name}/${t.id}/options`, t.options);
  }

  /**
   * The common case, checked without making paths: a top-level task reading a top-level task's
   * output of a matching type. True when it holds (and its edge is recorded); otherwise the
   * general checks run and report what is wrong.
   */
  private plainOutput(v: Extract<ValueIR, { kind: 'output' }>, spec: IOSpec, consumer: string): boolean {
    const p = this.infos.get(v.task);
    if (!p || p.node.kind !== 'task' || p.scope.length !== 0) return false;
    const out = this.input.components[p.node.component]?.outputs[v.output];
    if (!out || specMismatch(out, spec) !== undefined) return false;
    const c = this.infos.get(consumer);
    if (!c || c === p || c.scope.length !== 0) return false;
    this.graph.add(p.index, c.index);
    return true;
  }

  private checkInput(t: TaskIR, k: string, comp: ComponentIR, scope: Scope, inExit: boolean): void {
    const spec = comp.inputs[k];
    const v = t.inputs[k]!;
    if (spec && v.kind === 'output' && !inExit && scope.length === 0 && this.plainOutput(v, spec, t.id)) return;
    if (spec && v.kind === 'literal' && literalMismatch(v.value, spec) === undefined) return;
    const path = `${this.input.name}/${t.id}/inputs.${k}`;
    if (!spec) { this.issues.push({ code: 'input.unknown', path, message: `unknown input "${k}"; ${comp.name} takes ${Object.keys(comp.inputs).join(', ') || 'no inputs'}` }); return; }
    this.checkValueRef(v, path, scope, t.id, inExit);
    let mismatch: string | undefined;
    if (v.kind === 'literal') mismatch = literalMismatch(v.value, spec);
    else {
      const s = this.specOf(v);
      mismatch = s ? specMismatch(s, spec) : undefined;
    }
    if (mismatch) this.issues.push({ code: 'input.type', path, message: mismatch });
  }

  private checkLoop(n: LoopIR, at: string, scope: Scope): void {
    this.checkValueRef(n.items, `${at}/items`, scope, n.id, false);
    if (n.items.kind === 'literal' && !Array.isArray(n.items.value)) this.issues.push({ code: 'loop.items', path: `${at}/items`, message: `expected a list, got ${JSON.stringify(n.items.value)}` });
    const s = n.items.kind !== 'literal' ? this.specOf(n.items) : undefined;
    if (s && (s.kind === 'artifact' || (s.type !== 'array' && s.type !== 'any'))) this.issues.push({ code: 'loop.items', path: `${at}/items`, message: `expected a list, got ${s.kind === 'artifact' ? `a ${s.artifactType} artifact` : `${article(s.type)} ${s.type}`}` });
    if (n.parallelism !== undefined && !(Number.isInteger(n.parallelism) && n.parallelism > 0)) this.issues.push({ code: 'loop.parallelism', path: `${at}/parallelism`, message: `expected a positive integer, got ${JSON.stringify(n.parallelism)}` });
  }

  private checkPredicate(p: PredicateIR, path: string, scope: Scope, consumer: string): void {
    switch (p.kind) {
      case 'compare': this.checkValueRef(p.left, path, scope, consumer, false); this.checkValueRef(p.right, path, scope, consumer, false); return;
      case 'and': case 'or': for (const a of p.args) this.checkPredicate(a, path, scope, consumer); return;
      case 'not': this.checkPredicate(p.arg, path, scope, consumer);
    }
  }

  checkOutputs(): void {
    const { name, outputValues, outputs } = this.input;
    for (const k in outputValues) {
      this.checkValueRef(outputValues[k]!, `${name}/outputs.${k}`, [], undefined, false);
      if (!(k in outputs)) this.issues.push({ code: 'output.unknown', path: `${name}/outputs.${k}`, message: 'output value without a declared output' });
    }
  }

  /** `to` waits for `from`: an edge between the two nodes' outermost distinct enclosing nodes. */
  private edge(from: string, to: string, path: string): void {
    const fa = this.infos.get(from), fb = this.infos.get(to);
    if (!fa || !fb) return;
    const a = chainOf(fa), b = chainOf(fb);
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    if (i === a.length || i === b.length) {
      this.issues.push({ code: 'graph.cycle', path, message: `"${to}" cannot wait for "${from}": one contains the other` });
      return;
    }
    this.graph.add(this.infos.get(a[i]!)!.index, this.infos.get(b[i]!)!.index);
  }

  /** The spec of the value `v` stands for, when it can be known statically. */
  private specOf(v: ValueIR): IOSpec | undefined {
    const { params, components } = this.input;
    switch (v.kind) {
      case 'literal': return undefined;
      case 'param': return params[v.name];
      case 'output': {
        const t = this.infos.get(v.task)?.node;
        return t?.kind === 'task' ? components[t.component]?.outputs[v.output] : undefined;
      }
      case 'collect': {
        const t = this.infos.get(v.task)?.node;
        const s = t?.kind === 'task' ? components[t.component]?.outputs[v.output] : undefined;
        if (!s) return undefined;
        return s.kind === 'artifact' ? { ...s, list: true } : { kind: 'parameter', type: 'array', schema: { type: 'array', items: s.schema }, optional: false };
      }
      case 'oneOf': return v.options[0] ? this.specOf(v.options[0]) : undefined;
      case 'item': return this.itemSpec(v);
      case 'status': return { kind: 'parameter', type: 'string', schema: {}, optional: false };
    }
  }

  private itemSpec(v: Extract<ValueIR, { kind: 'item' }>): IOSpec | undefined {
    const loop = this.infos.get(v.loop)?.node;
    if (loop?.kind !== 'loop' || v.path.length > 0) return undefined;
    if (loop.items.kind === 'literal' && Array.isArray(loop.items.value)) {
      const arr = loop.items.value as readonly JsonValue[];
      const types = new Set(arr.map((x) => (Number.isInteger(x) ? 'integer' : Array.isArray(x) ? 'array' : x === null ? 'any' : typeof x)));
      const t = types.size === 1 ? [...types][0]! : types.size === 2 && types.has('integer') && types.has('number') ? 'number' : 'any';
      return { kind: 'parameter', type: t as 'any', schema: {}, optional: false };
    }
    const s = this.specOf(loop.items);
    if (s?.kind !== 'parameter') return undefined;
    const item = (s.schema as { items?: { type?: unknown } }).items?.type;
    return { kind: 'parameter', type: typeof item === 'string' ? (item as 'any') : 'any', schema: {}, optional: false };
  }

  /** Whether a producer at `producerScope` can be read from `scope`; reports the frame it escapes. */
  private visible(scope: Scope, producerScope: Scope, producer: string, via: string, path: string): boolean {
    for (let i = 0; i < producerScope.length; i++) {
      if (scope[i] === producerScope[i]) continue;
      const frame = producerScope[i]!;
      if (frame.startsWith('loop:')) {
        this.issues.push({ code: 'loop.escape', path, message: `takes data out of loop "${frame.slice(5)}" without collect (${via} "${producer}" runs once per item)`, hint: `use loop.collect((t) => t.outputs.x)` });
      } else {
        const [, cond, branch] = frame.split(':');
        this.issues.push({ code: 'condition.escape', path, message: `takes data out of condition "${cond}" (${via} "${producer}" runs only in its ${branch} branch)`, hint: 'return the value from both branches and use .value' });
      }
      return false;
    }
    return true;
  }

  /** Checks a value read at `scope` by `consumer` (a node id, or undefined for pipeline outputs). */
  private checkValueRef(v: ValueIR, path: string, scope: Scope, consumer: string | undefined, inExit: boolean): void {
    const { issues, infos } = this;
    switch (v.kind) {
      case 'literal':
        return;
      case 'status':
        if (!inExit) issues.push({ code: 'status.scope', path, message: 'p.status is only available in the exit handler' });
        return;
      case 'param':
        if (!(v.name in this.input.params)) issues.push({ code: 'param.unknown', path, message: `refers to unknown parameter "${v.name}"` });
        return;
      case 'output': {
        const p = infos.get(v.task);
        if (!p || p.node.kind !== 'task') { issues.push({ code: 'ref.unknown', path, message: `refers to unknown task "${v.task}"` }); return; }
        const comp = this.input.components[p.node.component];
        if (comp && !(v.output in comp.outputs)) issues.push({ code: 'ref.output', path, message: `task "${v.task}" has no output "${v.output}"; it has ${Object.keys(comp.outputs).join(', ') || 'none'}` });
        if (inExit) { issues.push({ code: 'exit.ref', path, message: EXIT_REF }); return; }
        if (this.visible(scope, p.scope, v.task, 'task', path) && consumer) this.edge(v.task, consumer, path);
        return;
      }
      case 'item': {
        const l = infos.get(v.loop);
        if (!l || l.node.kind !== 'loop') { issues.push({ code: 'ref.unknown', path, message: `refers to unknown loop "${v.loop}"` }); return; }
        if (!scope.includes(`loop:${v.loop}`)) issues.push({ code: 'loop.item', path, message: `uses the item of loop "${v.loop}" outside that loop` });
        return;
      }
      case 'collect': this.checkCollect(v, path, scope, consumer, inExit); return;
      case 'oneOf': this.checkOneOf(v, path, scope, consumer, inExit);
    }
  }

  private checkCollect(v: Extract<ValueIR, { kind: 'collect' }>, path: string, scope: Scope, consumer: string | undefined, inExit: boolean): void {
    const { issues, infos } = this;
    const l = infos.get(v.loop), t = infos.get(v.task);
    if (!l || l.node.kind !== 'loop') { issues.push({ code: 'ref.unknown', path, message: `refers to unknown loop "${v.loop}"` }); return; }
    if (!t || t.node.kind !== 'task') { issues.push({ code: 'ref.unknown', path, message: `refers to unknown task "${v.task}"` }); return; }
    if (!t.scope.includes(`loop:${v.loop}`)) { issues.push({ code: 'collect.scope', path, message: `collects task "${v.task}", which is not inside loop "${v.loop}"` }); return; }
    if (scope.includes(`loop:${v.loop}`)) { issues.push({ code: 'collect.scope', path, message: `collects loop "${v.loop}" from inside that loop` }); return; }
    const comp = this.input.components[t.node.component];
    if (comp && !(v.output in comp.outputs)) issues.push({ code: 'ref.output', path, message: `task "${v.task}" has no output "${v.output}"` });
    if (inExit) { issues.push({ code: 'exit.ref', path, message: EXIT_REF }); return; }
    if (this.visible(scope, l.scope, v.loop, 'loop', path) && consumer) this.edge(v.loop, consumer, path);
  }

  private checkOneOf(v: Extract<ValueIR, { kind: 'oneOf' }>, path: string, scope: Scope, consumer: string | undefined, inExit: boolean): void {
    const { issues, infos } = this;
    const c = infos.get(v.condition);
    if (!c || c.node.kind !== 'condition') { issues.push({ code: 'ref.unknown', path, message: `refers to unknown condition "${v.condition}"` }); return; }
    const branches = new Set<string>();
    for (const opt of v.options) {
      const t = infos.get(opt.task);
      const frame = t?.scope.find((f) => f.startsWith(`cond:${v.condition}:`));
      if (!t || !frame) { issues.push({ code: 'oneOf.scope', path, message: `option task "${opt.task}" is not inside condition "${v.condition}"` }); continue; }
      branches.add(frame.split(':')[2]!);
    }
    const missing = ['then', 'else'].filter((b) => !branches.has(b));
    if (missing.length) issues.push({ code: 'condition.escape', path, message: `takes data out of condition "${v.condition}" without a value on every branch (none from: ${missing.join(', ')})`, hint: 'add .otherwise(...) returning a value of the same type' });
    if (inExit) { issues.push({ code: 'exit.ref', path, message: EXIT_REF }); return; }
    if (this.visible(scope, c.scope, v.condition, 'condition', path) && consumer) this.edge(v.condition, consumer, path);
  }
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const MUTEX = /^[A-Za-z0-9][-A-Za-z0-9_.\/]{0,252}$/;

function checkSynchronization(at: string, s: SynchronizationIR, issues: SluiceIssue[]): void {
  for (const m of s.mutexes ?? []) {
    if (!MUTEX.test(m)) issues.push({ code: 'option.mutex', path: `${at}.mutexes`, message: `"${m}" is not a valid mutex name (letters, digits, '-', '_', '.', '/')` });
  }
  for (const sem of s.semaphores ?? []) {
    if (!K8S_NAME.test(sem.configMap)) issues.push({ code: 'option.semaphore', path: `${at}.semaphores`, message: `"${sem.configMap}" is not a valid config map name` });
    if (!/^[-._a-zA-Z0-9]+$/.test(sem.key)) issues.push({ code: 'option.semaphore', path: `${at}.semaphores`, message: `"${sem.key}" is not a valid config map key` });
  }
}

/**
 * @internal Task option checks. Tasks mostly share their options object (a component's defaults): one that
 * was found clean is not checked again in the same validation.
 */
export class OptionsChecker {
  private readonly clean = new Set<TaskOptionsIR>();
  constructor(private readonly issues: SluiceIssue[]) {}
  isClean(o: TaskOptionsIR): boolean {
    return this.clean.has(o);
  }
  check(at: string, o: TaskOptionsIR): void {
    if (this.clean.has(o)) return;
    const before = this.issues.length;
    checkOptions(at, o, this.issues);
    if (this.issues.length === before) this.clean.add(o);
  }
}

function checkOptions(at: string, o: TaskOptionsIR, issues: SluiceIssue[]): void {
  if (o.synchronization) checkSynchronization(`${at}.synchronization`, o.synchronization, issues);
  const r = o.resources;
  if (r) {
    for (const k of ['cpu', 'memory', 'ephemeralStorage'] as const) {
      const q = r[k];
      if (q !== undefined && !isQuantity(q)) issues.push({ code: 'option.quantity', path: `${at}.resources.${k}`, message: `"${q}" is not a Kubernetes quantity (for example ${k === 'cpu' ? '"500m" or "2"' : '"512Mi" or "4Gi"'})` });
    }
    if (r.gpu && !(Number.isInteger(r.gpu.count) && r.gpu.count > 0)) issues.push({ code: 'option.gpu', path: `${at}.resources.gpu`, message: `expected a positive whole number of GPUs, got ${JSON.stringify(r.gpu.count)}` });
    if (r.gpu?.localFallback !== undefined && (r.gpu.localFallback as unknown) !== 'cpu') issues.push({ code: 'option.gpu', path: `${at}.resources.gpu.localFallback`, message: `expected 'cpu' (the only local fallback), got ${JSON.stringify(r.gpu.localFallback)}` });
  }
  if (o.retry) {
    const rt = o.retry;
    if (!(Number.isInteger(rt.limit) && rt.limit >= 0)) issues.push({ code: 'option.retry', path: `${at}.retry.limit`, message: `expected a whole number >= 0, got ${JSON.stringify(rt.limit)}` });
    if (!['always', 'failure', 'error', 'transient'].includes(rt.on)) issues.push({ code: 'option.retry', path: `${at}.retry.on`, message: `expected one of always, failure, error, transient, got ${JSON.stringify(rt.on)}` });
    if (rt.backoff) {
      if (parseDuration(rt.backoff.duration) === undefined) issues.push({ code: 'option.duration', path: `${at}.retry.backoff.duration`, message: `"${rt.backoff.duration}" is not a duration (for example "10s", "5m")` });
      if (rt.backoff.cap !== undefined && parseDuration(rt.backoff.cap) === undefined) issues.push({ code: 'option.duration', path: `${at}.retry.backoff.max`, message: `"${rt.backoff.cap}" is not a duration (for example "10s", "5m")` });
      if (rt.backoff.maxDuration !== undefined && parseDuration(rt.backoff.maxDuration) === undefined) issues.push({ code: 'option.duration', path: `${at}.retry.backoff.maxTotal`, message: `"${rt.backoff.maxDuration}" is not a duration (for example "10s", "5m")` });
      if (rt.backoff.factor !== undefined && !(Number.isInteger(rt.backoff.factor) && rt.backoff.factor >= 1)) issues.push({ code: 'option.retry', path: `${at}.retry.backoff.factor`, message: `expected a whole number >= 1 (Argo reads the factor as an integer), got ${JSON.stringify(rt.backoff.factor)}` });
      if (rt.backoff.jitter !== undefined && !(rt.backoff.jitter >= 0 && rt.backoff.jitter <= 1)) issues.push({ code: 'option.retry', path: `${at}.retry.backoff.jitter`, message: `expected a fraction between 0 and 1, got ${JSON.stringify(rt.backoff.jitter)}` });
    }
  }
  if (o.timeoutSeconds !== undefined && !(Number.isFinite(o.timeoutSeconds) && o.timeoutSeconds > 0)) issues.push({ code: 'option.duration', path: `${at}.timeout`, message: 'expected a duration such as "30m" or a number of seconds' });
  if (o.cache?.maxAge !== undefined && parseDuration(o.cache.maxAge) === undefined) issues.push({ code: 'option.duration', path: `${at}.cache.maxAge`, message: `"${o.cache.maxAge}" is not a duration` });
  for (const vars of [o.env, o.secretEnv, o.configMapEnv]) {
    for (const k in vars) if (!ENV.test(k)) issues.push({ code: 'option.env', path: `${at}.env.${k}`, message: `"${k}" is not a valid environment variable name` });
  }
}

/**
 * The dependency graph of one DAG's nodes, as vertex numbers. Acyclic graphs (every valid
 * pipeline) are recognised by Kahn's algorithm over flat arrays; only a graph with a cycle is
 * handed, as ids, to the cycle finder that names it.
 */
class DependencyGraph {
  private readonly from: number[] = [];
  private readonly to: number[] = [];
  constructor(private readonly n: number) {}

  add(v: number, w: number): void {
    this.from.push(v);
    this.to.push(w);
  }

  acyclic(): boolean {
    const { n, from, to } = this;
    const indeg = new Int32Array(n);
    const start = new Int32Array(n + 1);
    for (let e = 0; e < to.length; e++) { indeg[to[e]!]!++; start[from[e]! + 1]!++; }
    for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
    const next = new Int32Array(to.length);
    const fill = start.slice(0, n);
    for (let e = 0; e < to.length; e++) next[fill[from[e]!]!++] = to[e]!;
    const queue = new Int32Array(n);
    let tail = 0;
    for (let i = 0; i < n; i++) if (indeg[i] === 0) queue[tail++] = i;
    for (let head = 0; head < tail; head++) {
      const v = queue[head]!;
      for (let k = start[v]!; k < start[v + 1]!; k++) if (--indeg[next[k]!]! === 0) queue[tail++] = next[k]!;
    }
    return tail === n;
  }

  /** Reports every cycle; `all[v]` is vertex `v`'s node. */
  reportCycles(name: string, all: readonly NodeInfo[], issues: SluiceIssue[]): void {
    if (this.acyclic()) return;
    const g = new Digraph();
    for (let e = 0; e < this.from.length; e++) g.add(all[this.from[e]!]!.node.id, all[this.to[e]!]!.node.id);
    for (const cycle of findCycles(g)) {
      const path = cyclePath(g, cycle);
      issues.push({ code: 'graph.cycle', path: `${name}/${path[0]}`, message: `dependency cycle: ${path.join(' -> ')}` });
    }
  }
}

/** Adjacency sets by id (a graph known to have a cycle). */
class Digraph {
  readonly out = new Map<string, Set<string>>();
  readonly in = new Map<string, Set<string>>();
  add(v: string, w: string): void {
    let o = this.out.get(v);
    if (!o) this.out.set(v, (o = new Set()));
    o.add(w);
    let i = this.in.get(w);
    if (!i) this.in.set(w, (i = new Set()));
    i.add(v);
  }
}

/**
 * Cycles of a dependency graph. Nodes that cannot be on a cycle are peeled off first (Kahn's
 * algorithm, iterative, from both ends); graphlib's Tarjan then runs on what is left, which is
 * only cycles and whatever hangs between them. (Tarjan alone recurses once per node and
 * overflows the stack on chains of a few thousand tasks.)
 */
function findCycles(g: Digraph): string[][] {
  const nodes = new Set([...g.out.keys(), ...g.in.keys()]);
  const removed = new Set<string>();
  const peel = (from: Map<string, Set<string>>, to: Map<string, Set<string>>) => {
    const deg = new Map<string, number>();
    const queue: string[] = [];
    for (const v of nodes) {
      if (removed.has(v)) continue;
      let d = 0;
      for (const u of from.get(v) ?? []) if (!removed.has(u)) d++;
      deg.set(v, d);
      if (d === 0) queue.push(v);
    }
    while (queue.length) {
      const v = queue.pop()!;
      removed.add(v);
      for (const w of to.get(v) ?? []) {
        if (removed.has(w)) continue;
        const d = deg.get(w)! - 1;
        deg.set(w, d);
        if (d === 0) queue.push(w);
      }
    }
  };
  peel(g.in, g.out);
  peel(g.out, g.in);
  if (removed.size === nodes.size) return [];
  const rest = new graphlib.Graph();
  for (const [v, ws] of g.out) {
    if (removed.has(v)) continue;
    for (const w of ws) if (!removed.has(w)) rest.setEdge(v, w);
  }
  return graphlib.alg.findCycles(rest);
}

/** A shortest walk around a strongly connected set, from its first id (sorted) back to it. */
function cyclePath(g: Digraph, members: readonly string[]): string[] {
  const inSet = new Set(members);
  const start = [...members].sort()[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of [...(g.out.get(v) ?? [])].sort()) {
      if (!inSet.has(w) || prev.has(w)) continue;
      prev.set(w, v);
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.push(u);
        path.push(start);
        return [path[0]!, ...path.slice(1, -1).reverse(), start];
      }
      queue.push(w);
    }
  }
  return [...members, start];
}
