/**
 * The compile source map: every emitted template and DAG task name, mapped back to the IR node it
 * stands for, so that a cluster watch, the logs and a UI can name tasks as the user wrote them.
 * Plain JSON data; the entry object also carries it (compactly) in an annotation, so a watcher
 * that only sees the Workflow can map its node names back.
 */

/** What kind of thing an emitted template is. */
export type TemplateKind =
  /** The root pipeline's DAG (`main`). */
  | 'pipeline'
  /** The exit handler's DAG. */
  | 'exit-handler'
  /** A nested pipeline component's DAG (one per component and display name). */
  | 'nested'
  /** The `then` / `else` branch of a condition. */
  | 'then'
  | 'else'
  /** A loop's body (the task that calls it has `withItems`/`withParam`). */
  | 'loop'
  /** The wrapper that carries a loop's `parallelism`. */
  | 'parallelism'
  /** A chunk of a DAG split to fit Argo's 200 tasks per DAG; stands for no IR node. */
  | 'chunk'
  /** A pod: a function or container component. */
  | 'component';

/** Where one emitted template comes from. */
export interface TemplateOrigin {
  readonly kind: TemplateKind;
  /**
   * The component scope its IR ids belong to: `''` for the pipeline itself (root DAG, exit
   * handler), else the hash of the nested pipeline component whose DAG it is part of.
   */
  readonly scope: string;
  /** The IR node (condition or loop id) it belongs to, for `then`/`else`/`loop`/`parallelism`. */
  readonly node?: string;
  /** The component hash, for `component` and `nested` templates. */
  readonly component?: string;
  /** The component name, for `component` and `nested` templates. */
  readonly name?: string;
  /** The library `WorkflowTemplate` holding it, when the spec was split by size. */
  readonly document?: string;
}

/**
 * Emitted names -> IR.
 *
 * A local run names a task instance by its key: nested pipeline task ids and loop iterations
 * joined by `/` (`sub/inner`, `sweep[2]/sq`). To get that key for an Argo node, walk its DAG
 * ancestors: `tasks[<template>][<task name>]` gives the IR id at each level (`null` for a chunk,
 * which adds nothing); a task calling a `nested` template adds `<id>/`, a loop iteration adds
 * `[<index>]` after the loop's id.
 */
export interface SourceMap {
  readonly version: 1;
  /** The pipeline's name. */
  readonly pipeline: string;
  /** Every emitted template, by name. */
  readonly templates: { readonly [template: string]: TemplateOrigin };
  /**
   * Every DAG template's tasks: Argo task name -> the IR node id it runs (in the template's
   * scope), or `null` for a chunk. In the annotation, tasks whose name is their IR id are left
   * out (see {@link taskNode}).
   */
  readonly tasks: { readonly [template: string]: { readonly [task: string]: string | null } };
}

/** The annotation on the entry object (and in the `workflowMetadata` of templates and crons). */
export const SOURCE_MAP_ANNOTATION = 'sluice.dev/source-map';

/** Collects the map while the render pass names things (internal). */
export class SourceMapBuilder {
  readonly templates: { [template: string]: TemplateOrigin } = {};
  readonly tasks: { [template: string]: { [task: string]: string | null } } = {};

  template(name: string, origin: TemplateOrigin): void {
    this.templates[name] = origin;
  }

  /** Tasks named otherwise than their IR id, by DAG (the annotation's part, see {@link compactTasks}). */
  private readonly renamedIn = new Map<string, { [task: string]: string | null }>();

  dag(name: string): { [task: string]: string | null } {
    // Made a hash table from the start (V8 turns an object into one when a property is deleted):
    // a DAG has up to 200 tasks, and adding them one by one to a literal would first make a
    // hidden class per added name. Key order stays insertion order.
    const tasks: { [task: string]: string | null } = { '': null };
    delete tasks[''];
    return (this.tasks[name] = tasks);
  }

  /** Records that task `task` of DAG `dag` (already in {@link dag}'s object) stands for `id`, which is not its name. */
  renamed(dag: string, task: string, id: string | null): void {
    let r = this.renamedIn.get(dag);
    if (!r) this.renamedIn.set(dag, (r = {}));
    r[task] = id;
  }

  /** {@link compactTasks} of the map, from what {@link renamed} recorded (without visiting every task). */
  compact(): CompactTasks {
    const tasks: { [template: string]: { [task: string]: string | null } } = {};
    for (const dag in this.tasks) {
      const r = this.renamedIn.get(dag);
      if (r) tasks[dag] = r;
    }
    return tasks;
  }

  /** Records which library document each template landed in. */
  placeIn(document: string, templateNames: Iterable<string>): void {
    for (const n of templateNames) {
      const o = this.templates[n];
      if (o) this.templates[n] = { ...o, document };
    }
  }

  build(pipeline: string): SourceMap {
    return { version: 1, pipeline, templates: this.templates, tasks: this.tasks };
  }
}

/**
 * The annotation text: deterministic compact JSON of the map, leaving out tasks whose Argo name
 * is their IR id (most of them), so that it stays small at 10,000 tasks.
 */
export function sourceMapAnnotation(map: SourceMap, tasks: CompactTasks = compactTasks(map)): string {
  return JSON.stringify({ version: map.version, pipeline: map.pipeline, templates: map.templates, tasks });
}

/** The annotation's task part: only renamed tasks. */
export type CompactTasks = { readonly [template: string]: { readonly [task: string]: string | null } };

/** The renamed tasks of `map` (computed once per compile: placing templates in documents does not change them). */
export function compactTasks(map: SourceMap): CompactTasks {
  const tasks: { [template: string]: { [task: string]: string | null } } = {};
  for (const dag in map.tasks) {
    const entries = map.tasks[dag]!;
    let renamed: { [task: string]: string | null } | undefined;
    for (const task in entries) {
      const id = entries[task]!;
      if (id === task) continue;
      (renamed ??= {})[task] = id;
    }
    if (renamed) tasks[dag] = renamed;
  }
  return tasks;
}

/**
 * Reads the map from a compiled object's annotation (a Workflow, WorkflowTemplate or
 * CronWorkflow, or a Workflow created from one of the latter), or undefined when it has none.
 *
 * @example
 * const map = readSourceMap(workflow);
 * taskNode(map!, 'main-c3', 't-1abc'); // '1abc'
 */
export function readSourceMap(object: { readonly metadata?: unknown; readonly spec?: unknown }): SourceMap | undefined {
  const pick = (meta: unknown): string | undefined => {
    const a = (meta as { annotations?: { [k: string]: unknown } } | undefined)?.annotations?.[SOURCE_MAP_ANNOTATION];
    return typeof a === 'string' ? a : undefined;
  };
  const text = pick(object.metadata) ?? pick((object.spec as { workflowMetadata?: unknown } | undefined)?.workflowMetadata);
  return text === undefined ? undefined : (JSON.parse(text) as SourceMap);
}

/**
 * The IR node id a DAG task runs: from the full map, or from the annotation's compact one
 * (where a task left out is named by its IR id). `null` for a chunk.
 *
 * @example
 * taskNode(compile(ir, opts).sourceMap, 'main', 'train') // 'train'
 */
export function taskNode(map: SourceMap, template: string, task: string): string | null {
  const entries = map.tasks[template];
  return entries && Object.hasOwn(entries, task) ? entries[task]! : task;
}
