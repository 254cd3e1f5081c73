/**
 * Internal: `toIR`'s validation of a pipeline's own DAG from the builder's records. The records
 * already hold what the IR spells as ids (which task an output reference reads, which nodes
 * `.after()` named), so the common pipeline, top-level tasks that read literals, parameters and
 * each other's outputs, is checked in the walk that makes its IR, with no id look-up per
 * reference and no second walk. The check only proves a DAG valid, by the rules of
 * `validatePipelineIR` (validate.ts) for the cases it accepts; on anything else (a condition, a
 * loop, a reference it does not know, any problem) `toIR` runs `validatePipelineIR`, which names
 * every problem, so no message depends on this file.
 */
import type { SluiceIssue } from './errors.ts';
import type { IOSpec, NodeIR, PipelineIR, TaskIR, ValueIR } from './ir.ts';
import { toNode, toTaskIR, type NodeRec, type Recorder, type TaskRec } from './builder.ts';
import { OutputRef } from './refs.ts';
import { TASK_ID } from './semantics/names.ts';
import { OptionsChecker, literalMismatch, specMismatch, validateBesidesDag } from './validate.ts';

const STATUS_SPEC: IOSpec = { kind: 'parameter', type: 'string', schema: {}, optional: false };

/** The IR of a recorder's DAG and exit handler, and whether the records prove them valid. */
export class RecordedDag {
  readonly dag: NodeIR[];
  readonly exitHandler: TaskIR | null;
  /** Found by option checks; any entry means the proof failed. */
  readonly #problems: SluiceIssue[] = [];
  readonly #options = new OptionsChecker(this.#problems);
  /** Task id -> vertex, for duplicates and the pipeline's outputs. */
  readonly #ids = new Map<string, number>();
  readonly #params: PipelineIR['params'];
  #proven: boolean;

  /** `builderClean`: the builder recorded no problem (the proof relies on its input checks). */
  constructor(r: Recorder, params: PipelineIR['params'], builderClean: boolean) {
    this.#params = params;
    const root = r.root;
    const dag: NodeIR[] = [];
    let proven = builderClean && root.length > 0, allTasks = true;
    for (let i = 0; i < root.length; i++) {
      const n = root[i]!;
      if (n.kind !== 'task') {
        dag.push(toNode(n));
        proven = allTasks = false;
        continue;
      }
      n.vertex = i;
      const t = toTaskIR(n);
      dag.push(t);
      if (proven) proven = this.#task(n, t, i, root);
    }
    // Task IR comes frozen from the builder: then freezing the list is freezing the DAG.
    this.dag = allTasks ? (Object.freeze(dag) as NodeIR[]) : dag;
    const exit = r.exitHandler;
    this.exitHandler = exit ? toTaskIR(exit) : null;
    if (proven && this.exitHandler) proven = this.#exitTask(exit!, this.exitHandler);
    this.#proven = proven;
  }

  /**
   * Whether top-level task `n` (vertex `i`, IR `t`) is valid. Every edge it adds must come from
   * an earlier vertex (a task can read only outputs that exist when it is called), so the DAG
   * has no cycle; an `.after()` naming a later node is left to the validator.
   */
  #task(n: TaskRec, t: TaskIR, i: number, root: readonly NodeRec[]): boolean {
    const ids = this.#ids, use = n.def.use!;
    if (!(n.explicitId ? TASK_ID.test(t.id) : use.baseIsId && t.id.length <= 63)) return false;
    const size = ids.size;
    if (ids.set(t.id, i).size === size) return false;
    const after = n.after;
    for (let j = 0; j < after.length; j++) {
      const w = after[j]!;
      if (w.kind !== 'task' || w.vertex < 0 || w.vertex >= i || root[w.vertex] !== w) return false;
    }
    const given = n.inputs;
    for (let j = 0; j < given.length; j += 2) {
      const name = given[j] as string, source = given[j + 1];
      const v = t.inputs[name]!;
      if (v.kind === 'output') {
        // The builder checked the output's type against the input's (`recordInput`).
        if (!(source instanceof OutputRef)) return false;
        const p = source.task as TaskRec;
        if (p.vertex < 0 || p.vertex >= i || root[p.vertex] !== p) return false;
      } else if (!this.#plainValue(v, n.def.ir.inputs[name]!, false)) return false;
    }
    return this.#requiredAndOptions(n, t);
  }

  /** The exit handler: literals, parameters and `p.status` only (what it may read). */
  #exitTask(n: TaskRec, t: TaskIR): boolean {
    if (this.#ids.has(t.id)) return false;
    const specs = n.def.ir.inputs;
    for (const name in t.inputs) if (!this.#plainValue(t.inputs[name]!, specs[name]!, true)) return false;
    return this.#requiredAndOptions(n, t);
  }

  /** A literal of the input's type, or a parameter (or, in the exit handler, the status) whose spec fits. */
  #plainValue(v: ValueIR, spec: IOSpec, inExit: boolean): boolean {
    switch (v.kind) {
      case 'literal': return literalMismatch(v.value, spec) === undefined;
      case 'param': {
        const p = this.#params[v.name];
        return p !== undefined && specMismatch(p, spec) === undefined;
      }
      case 'status': return inExit && specMismatch(STATUS_SPEC, spec) === undefined;
      default: return false;
    }
  }

  #requiredAndOptions(n: TaskRec, t: TaskIR): boolean {
    const required = n.def.use!.required;
    for (let j = 0; j < required.length; j++) if (!(required[j]! in t.inputs)) return false;
    const options = this.#options;
    if (!options.isClean(t.options)) options.check('', t.options);
    return this.#problems.length === 0;
  }

  /**
   * What `validatePipelineIR(ir)` reports for `ir` (made with this DAG and exit handler), when
   * the records prove the DAG valid; undefined when they do not (then run the validator).
   */
  issuesOf(ir: PipelineIR): SluiceIssue[] | undefined {
    if (!this.#proven) return undefined;
    const root = ir.dag;
    for (const k in ir.outputValues) {
      const v = ir.outputValues[k]!;
      if (!(k in ir.outputs)) return undefined;
      if (v.kind === 'param') { if (!(v.name in ir.params)) return undefined; continue; }
      if (v.kind !== 'output') return undefined;
      const i = this.#ids.get(v.task);
      const t = i === undefined ? undefined : root[i];
      if (t?.kind !== 'task' || !(v.output in ir.components[t.component]!.outputs)) return undefined;
    }
    validateBesidesDag(ir, this.#options, this.#problems);
    return this.#problems;
  }
}
