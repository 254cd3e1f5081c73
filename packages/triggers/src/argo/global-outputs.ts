/**
 * The upstream pipeline's outputs as an exit hook can read them on Argo (internal).
 *
 * The compiler declares each pipeline output on the entry DAG with a `globalName`, but Argo
 * v4.0.5 never copies an entry DAG's own outputs to `workflow.outputs` (dag.go exports the
 * outputs of a DAG's *tasks* when it completes, never the DAG's; steps templates do export their
 * own: upstream issue argoproj/argo-workflows#14767), so an exit hook reading
 * `workflow.outputs.parameters.<name>` finds nothing. What Argo does export is an output parameter
 * with a `globalName` on the template a task ran: a pod's when its outputs are reported, a nested
 * DAG's (then/else branch, nested pipeline, chunk) when the entry DAG completes. So, for each
 * pipeline output the entry DAG takes from one of its tasks, the producing task's template output
 * gets the `globalName`, and the hook reads it back:
 *
 * - `{{tasks.T.outputs.parameters.P}}`: T's template exports P. A template another task also runs
 *   is cloned for T first (else both tasks would write the one global name), and the clone is
 *   added to the source map as the template it copies.
 * - a `oneOf` expression (`tasks['a'].status == 'Succeeded' ? tasks['a'].outputs... : ...`): every
 *   option exports; only the branch that ran has outputs, and the hook takes the first present.
 * - a pipeline parameter passed through (`inputs.parameters['X']` of the entry template, or
 *   `{{workflow.parameters.X}}` as older compilers wrote it): read from `workflow.parameters`.
 * - a literal (`valueFrom.expression` with string literals only): the same expression in the hook.
 * - anything else (an output aggregated over a loop, a task from a `templateRef` library template):
 *   nothing is exported, and the hook reads the entry's own global name (null on v4.0.5).
 *
 * Argo hands a memoized step the outputs its cache entry was saved with, `globalName` included
 * or not, so an exporting step's `memoize.key` gets a suffix of its global names: it hits only
 * entries saved by a step that exports the same names.
 */
import { sha256 } from '@sluice/sdk';

type O = { [k: string]: any };

const SOURCE_MAP_ANNOTATION = 'sluice.dev/source-map';
const NAME = /^[A-Za-z0-9_-]+$/;
const TASK_PARAM = /^\{\{tasks\.([A-Za-z0-9-]+)\.outputs\.parameters\.([A-Za-z0-9_-]+)\}\}$/;
const WF_PARAM = /^\{\{workflow\.parameters\.([A-Za-z0-9_-]+)\}\}$/;
/** A parameter passed through: the entry template's input, which Argo binds from the workflow's arguments. */
const INPUT_PARAM = /^inputs\.parameters\['([A-Za-z0-9_-]+)'\]$/;
const EXPR_TASK_PARAM = /tasks\['([A-Za-z0-9-]+)'\]\.outputs\.parameters\['([A-Za-z0-9_-]+)'\]/g;
/** An expression of JSON string literals only, as the compiler writes a literal output (`"a"`, `("a{" + "{b")`). */
const STRING_LITERALS = /^\(?"(?:[^"\\]|\\.)*"(?: \+ "(?:[^"\\]|\\.)*")*\)?$/;
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;

/** One Argo expression-language string literal, single-quoted (the hook body is JSON: no double quotes in it). */
function single(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}'`;
}

const digOutput = (name: string, fallback = 'nil'): string => `sprig.dig('outputs', 'parameters', ${single(name)}, ${fallback}, workflow)`;

/**
 * Gives the producing tasks' templates of `spec` (a WorkflowTemplate's spec, changed in place)
 * the `globalName`s of the pipeline outputs, and returns, per pipeline parameter output (sorted),
 * the Argo expression an exit hook evaluates to its value (a string, or nil when absent).
 */
export function exportPipelineOutputs(spec: O, meta: O | undefined): Map<string, string> {
  const templates = (spec.templates ?? []) as O[];
  const byName = new Map<string, O>(templates.map((t) => [String(t.name), t]));
  const entry = byName.get(String(spec.entrypoint));
  const declared = ((entry?.outputs?.parameters ?? []) as O[]).filter((p) => typeof p.globalName === 'string' && NAME.test(p.globalName));
  const out = new Map<string, string>();
  const tasks = (entry?.dag?.tasks ?? []) as O[];
  const uses = new Map<string, number>();
  const count = (t: O): void => {
    const refs = [...((t.dag?.tasks ?? []) as O[]), ...((t.steps ?? []) as O[][]).flat()];
    for (const r of refs) {
      for (const name of [r.template, r.onExit, ...Object.values((r.hooks ?? {}) as O).map((h) => (h as O).template)]) {
        if (typeof name === 'string') uses.set(name, (uses.get(name) ?? 0) + 1);
      }
    }
  };
  for (const t of templates) count(t);
  for (const name of [spec.entrypoint, spec.onExit, ...Object.values((spec.hooks ?? {}) as O).map((h) => (h as O).template)]) {
    if (typeof name === 'string') uses.set(name, (uses.get(name) ?? 0) + 1);
  }
  const exported = new Map<string, string>();
  const clones: [string, string][] = [];
  const memoized = new Set<O>();

  /** The global name task `task`'s output `param` is exported under (set here), or undefined when it cannot be. */
  const exportFrom = (task: string, param: string, global: string): string | undefined => {
    const key = `${task}\0${param}`;
    const have = exported.get(key);
    if (have !== undefined) return have;
    const t = tasks.find((x) => x.name === task);
    if (!t || typeof t.template !== 'string' || t.templateRef || t.withItems !== undefined || t.withParam !== undefined || t.withSequence !== undefined) return undefined;
    let tmpl = byName.get(t.template);
    if (!tmpl || !((tmpl.outputs?.parameters ?? []) as O[]).some((p) => p.name === param)) return undefined;
    if ((uses.get(tmpl.name) ?? 0) > 1) {
      let name = `${String(tmpl.name).slice(0, 54)}-out`;
      for (let i = 2; byName.has(name); i++) name = `${String(tmpl.name).slice(0, 54)}-out${i}`;
      const clone = { ...structuredClone(tmpl), name };
      templates.splice(templates.indexOf(tmpl) + 1, 0, clone);
      byName.set(name, clone);
      uses.set(tmpl.name, uses.get(tmpl.name)! - 1);
      uses.set(name, 1);
      count(clone);
      clones.push([tmpl.name, name]);
      t.template = name;
      tmpl = clone;
    }
    const p = (tmpl.outputs.parameters as O[]).find((x) => x.name === param)!;
    p.globalName ??= global;
    exported.set(key, p.globalName);
    if (tmpl.memoize?.key !== undefined) memoized.add(tmpl);
    return p.globalName;
  };

  for (const p of [...declared].sort((a, b) => (a.globalName < b.globalName ? -1 : a.globalName > b.globalName ? 1 : 0))) {
    const g = p.globalName as string;
    const vf = (p.valueFrom ?? {}) as O;
    let value = digOutput(g);
    if (typeof vf.parameter === 'string') {
      const m = TASK_PARAM.exec(vf.parameter);
      const w = WF_PARAM.exec(vf.parameter);
      const via = m ? exportFrom(m[1]!, m[2]!, g) : undefined;
      if (via) value = digOutput(via);
      else if (w) value = `sprig.dig('parameters', ${single(w[1]!)}, nil, workflow)`;
    } else if (typeof vf.expression === 'string' && INPUT_PARAM.test(vf.expression)) {
      value = `sprig.dig('parameters', ${single(INPUT_PARAM.exec(vf.expression)![1]!)}, nil, workflow)`;
    } else if (typeof vf.expression === 'string') {
      const refs = [...vf.expression.matchAll(EXPR_TASK_PARAM)];
      if (refs.length) {
        const via = refs.map((r) => exportFrom(r[1]!, r[2]!, g));
        // the options in order: the first one whose branch ran (the only one with outputs)
        if (via.every((v): v is string => v !== undefined)) value = [...new Set(via)].reduceRight((rest, v) => digOutput(v, rest), 'nil');
      } else if (STRING_LITERALS.test(vf.expression)) {
        value = vf.expression.replace(JSON_STRING, (lit) => single(JSON.parse(lit) as string));
      }
    }
    out.set(g, value);
  }
  // A cache hit returns the outputs the entry was saved with, globalName included: an exporting
  // step keeps entries of its own, so it never gets one saved without its global name (or with
  // another's). The key consumers fold into theirs (the sluice-cache-key output) is unchanged.
  for (const t of memoized) {
    const names = ((t.outputs.parameters ?? []) as O[]).map((p) => p.globalName).filter((n): n is string => typeof n === 'string').sort();
    t.memoize = { ...t.memoize, key: `${String(t.memoize.key)}-g${sha256(names.join(',')).slice(0, 8)}` };
  }
  if (clones.length) addClonesToSourceMap(spec, meta, clones);
  return out;
}

/** Each clone maps back as the template it copies (the annotation on the object or its workflowMetadata). */
function addClonesToSourceMap(spec: O, meta: O | undefined, clones: readonly [string, string][]): void {
  for (const holder of [meta, spec.workflowMetadata as O | undefined]) {
    const text = holder?.annotations?.[SOURCE_MAP_ANNOTATION];
    if (typeof text !== 'string') continue;
    const map = JSON.parse(text) as { templates?: O; tasks?: O };
    for (const [from, to] of clones) {
      if (map.templates?.[from]) map.templates[to] = map.templates[from];
      if (map.tasks?.[from]) map.tasks[to] = map.tasks[from];
    }
    holder!.annotations = { ...holder!.annotations, [SOURCE_MAP_ANNOTATION]: JSON.stringify(map) };
  }
}
