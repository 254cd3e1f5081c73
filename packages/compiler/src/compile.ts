/**
 * The compiler: validate -> lower -> fit Argo's limits -> render -> check -> emit. Each pass is a
 * function over plain data; this file only wires them together.
 */
import { SluiceValidationError } from '@sluice/sdk';
import { validate } from './validate.ts';
import type { IOSpec, JsonValue, PipelineComponentIR, PipelineIR, SluiceIssue } from '@sluice/sdk';
import { lowerBinding, lowerDag, lowerExitTask, scanScope, type ArgVal, type LDag, type LowerContext, type Scope } from './lower.ts';
import { argoParamName, dnsLabel, NameRegistry } from './names.ts';
import { renderDag, type RenderContext } from './render.ts';
import { fitLimits } from './split.ts';
import { paramText, synchronization, type ArgoObject } from './templates.ts';
import { literalNeedsEncoding } from '@sluice/sdk';
import { toYaml, type YamlValue } from './yaml.ts';

/** Argo resource kinds `compile` can produce. */
export type CompileKind = 'workflow' | 'template' | 'cron';

/** Options of {@link compile}. */
export interface CompileOptions {
  /**
   * The pipeline file as the executor imports it inside the pod (`sluice exec --entry <entry>`),
   * relative to the image's working directory.
   *
   * @example 'pipelines/train.ts'
   */
  readonly entry: string;
  /** Named export holding the pipeline, when it is not the default export. */
  readonly exportName?: string;
  /** Image for function components; overrides the pipeline's `image` option. */
  readonly image?: string;
  /**
   * What to produce: a `Workflow` (submitted once), a `WorkflowTemplate` (stored, submitted later)
   * or a `CronWorkflow` (needs `schedules`).
   * @default 'workflow'
   */
  readonly kind?: CompileKind;
  /** Values for pipeline parameters, replacing their defaults in `spec.arguments`. */
  readonly params?: { readonly [name: string]: JsonValue };
  /** Object name; a Workflow defaults to `generateName: <pipeline>-`, the others to the pipeline name. */
  readonly name?: string;
  /** Namespace; overrides the pipeline's `namespace` option. */
  readonly namespace?: string;
  /** Cron schedules for `kind: 'cron'`, e.g. `['0 3 * * *']`. */
  readonly schedules?: readonly string[];
  /** Time zone for the cron schedules, e.g. `Europe/Paris`. */
  readonly timezone?: string;
  /**
   * The command that starts the executor in the image.
   * @default ['sluice', 'exec']
   */
  readonly executorCommand?: readonly string[];
}

/** What {@link compile} returns. */
export interface CompileResult {
  /** The Argo objects (plain data), in output order. */
  readonly objects: readonly ArgoObject[];
  /** The same objects as YAML documents (deterministic: the same input gives the same bytes). */
  readonly yaml: string;
}

/** Argo v4 CRD limits. */
export const LIMITS = { templates: 200, dagTasks: 200, inputParameters: 500 } as const;

const ROOT = 'main';
const EXIT = 'exit-handler';

function paramSpecs(params: { readonly [name: string]: IOSpec }, override: CompileOptions['params'], path: string, issues: SluiceIssue[]) {
  const parameters: ArgoObject[] = [];
  const artifacts: ArgoObject[] = [];
  for (const name of Object.keys(params).sort()) {
    const spec = params[name]!;
    if (spec.kind === 'artifact') { artifacts.push({ name: argoParamName(name) }); continue; }
    const given = override && Object.hasOwn(override, name) ? override[name] : spec.default;
    const text = given === undefined ? undefined : paramText(given);
    // Argo would substitute "{{" in a parameter's value before any step sees it: refused, not encoded,
    // so a step gets what the user gave, whether it comes from here or from the submission.
    if (text !== undefined && literalNeedsEncoding(text)) issues.push({ code: 'argo.template', path: `${path}/params.${name}`, message: `the value of parameter "${name}" contains ${text.includes('{{') ? '"{{", which Argo would read as a template expression' : 'a control character, which Argo refuses in a manifest'}`, hint: 'give it at submission, or pass it as a literal to a function component' });
    parameters.push({ name: argoParamName(name), value: text, description: spec.description });
  }
  for (const name of Object.keys(override ?? {}).sort()) {
    if (!(name in params)) issues.push({ code: 'param.unknown', path: `${path}/params.${name}`, message: `unknown parameter "${name}"; the pipeline takes ${Object.keys(params).sort().join(', ') || 'no parameters'}` });
    else if (params[name]!.kind === 'artifact') issues.push({ code: 'param.artifact', path: `${path}/params.${name}`, message: `"${name}" is an artifact; artifacts are given at submission, not as values` });
  }
  return { parameters, artifacts };
}

function checkLimits(templates: readonly ArgoObject[], path: string, issues: SluiceIssue[]): void {
  if (templates.length > LIMITS.templates) {
    issues.push({ code: 'argo.limit', path, message: `needs ${templates.length} Argo templates; Argo accepts at most ${LIMITS.templates}`, hint: 'tasks of one component share a template only when their options are equal: move per-task options (display names, env, resources) to the component or the pipeline defaults' });
  }
  for (const t of templates) {
    const n = ((t.inputs as { parameters?: unknown[] } | undefined)?.parameters ?? []).length;
    if (n > LIMITS.inputParameters) issues.push({ code: 'argo.limit', path: `${path}/${String(t.name)}`, message: `template takes ${n} input parameters; Argo accepts at most ${LIMITS.inputParameters}` });
  }
}

/**
 * Compiles a pipeline's IR to Argo: validates it (every issue at once), lowers it to templates and
 * DAGs that fit Argo's limits, and emits deterministic YAML. Nothing is written anywhere.
 *
 * @throws SluiceValidationError with every problem found; no partial output.
 * @example
 * import { toIR } from '@sluice/sdk';
 * import { compile } from '@sluice/compiler';
 * const { yaml } = compile(toIR(trainPipeline), { entry: 'pipelines/train.ts', image: 'ghcr.io/acme/train:1.4' });
 * await writeFile('train.yaml', yaml);
 */
export function compile(ir: PipelineIR, options: CompileOptions): CompileResult {
  const sdkIssues = validate(ir);
  const issues: SluiceIssue[] = [];
  let objects: ArgoObject[] = [];
  try {
    objects = lowerPipeline(ir, options, issues);
  } catch (e) {
    // Lowering assumes a valid IR; when validation already failed, its issues are the report.
    if (!sdkIssues.length) throw e;
  }
  const all = [...sdkIssues, ...issues];
  if (all.length) throw new SluiceValidationError(all);
  return { objects, yaml: objects.map((o) => toYaml(o)).join('---\n') };
}

function lowerPipeline(ir: PipelineIR, options: CompileOptions, issues: SluiceIssue[]): ArgoObject[] {
  const names = new NameRegistry([ROOT, EXIT]);
  const nestedQueue: { hash: string; comp: PipelineComponentIR; name: string; displayName: string | undefined }[] = [];
  const nested = new Map<string, string>();
  const ctx: LowerContext = {
    ir,
    entry: options.entry,
    exportName: options.exportName,
    image: options.image ?? ir.options.image,
    executorCommand: options.executorCommand ?? ['sluice', 'exec'],
    names,
    issues,
    leaf: new Map(),
    byTaskKey: new Map(),
    nested,
    requestNested: (hash, comp, displayName) => {
      // A display name is a template annotation in Argo: one template per distinct name.
      const key = displayName === undefined ? hash : `${hash}|${displayName}`;
      let n = nested.get(key);
      if (n === undefined) {
        n = names.take(comp.name);
        nested.set(key, n);
        nestedQueue.push({ hash, comp, name: n, displayName });
      }
      return n;
    },
  };
  if (!options.entry) issues.push({ code: 'compile.entry', path: ir.name, message: 'compile needs the entry file the executor imports in the pod', hint: 'pass { entry: "path/to/pipeline.ts" }' });

  const rootScan = scanScope(ir.dag, ir);
  const rootScope: Scope = { root: true, id: ROOT, params: ir.params, ...rootScan, path: ir.name };
  const rootDag = lowerDag(ir.dag, ROOT, rootScope, ctx);
  const rootExports = new Map<string, ArgVal>();
  for (const name of Object.keys(ir.outputValues).sort()) rootExports.set(argoParamName(name), lowerBinding(ir.outputValues[name]!, rootScope, ctx, `${ir.name}/outputs.${name}`));

  let exitDag: LDag | undefined;
  if (ir.exitHandler) {
    const scan = scanScope([], ir, [ir.exitHandler]);
    const exitScope: Scope = { root: true, id: EXIT, params: ir.params, ...scan, path: ir.name };
    exitDag = { name: EXIT, tasks: lowerExitTask(ir.exitHandler, exitScope, ctx) };
  }

  const rc: RenderContext = { templates: [], issues };
  fitLimits(rootDag, names);
  renderDag(rootDag, rootExports, { root: true, global: true }, rc);
  if (exitDag) { fitLimits(exitDag, names); renderDag(exitDag, new Map(), { root: true }, rc); }
  // Nested pipeline components: one closed DAG template each (the queue grows while lowering).
  for (let i = 0; i < nestedQueue.length; i++) {
    const { comp, name, displayName } = nestedQueue[i]!;
    const scan = scanScope(comp.dag, ir);
    const scope: Scope = { root: false, id: name, params: comp.inputs, ...scan, path: `${ir.name}/${name}` };
    const dag = lowerDag(comp.dag, name, scope, ctx);
    const exports = new Map<string, ArgVal>();
    for (const o of Object.keys(comp.outputValues).sort()) exports.set(argoParamName(o), lowerBinding(comp.outputValues[o]!, scope, ctx, `${scope.path}/outputs.${o}`));
    fitLimits(dag, names);
    const inParams: ArgoObject[] = [];
    const inArts: ArgoObject[] = [];
    for (const k of Object.keys(comp.inputs).sort()) (comp.inputs[k]!.kind === 'artifact' ? inArts : inParams).push({ name: argoParamName(k) });
    const annotations = displayName === undefined ? undefined : { [DISPLAY_NAME]: displayName };
    renderDag(dag, exports, { root: false, inputs: { parameters: inParams, artifacts: inArts }, ...(annotations ? { annotations } : {}) }, rc);
  }
  const templates = [...rc.templates, ...[...ctx.leaf.values()].map((e) => e.template)];
  checkLimits(templates, ir.name, issues);

  const o = ir.options;
  const args = paramSpecs(ir.params, options.params, ir.name, issues);
  const rootInputs = (rc.templates[0]?.inputs as { artifacts?: ArgoObject[] } | undefined)?.artifacts;
  const spec: ArgoObject = {
    entrypoint: ROOT,
    arguments: args.parameters.length || rootInputs?.length
      ? { parameters: args.parameters.length ? args.parameters : undefined, artifacts: rootInputs?.length ? rootInputs.map((a) => ({ name: a.name })) : undefined }
      : undefined,
    onExit: exitDag ? EXIT : undefined,
    serviceAccountName: o.serviceAccount,
    parallelism: o.parallelism,
    activeDeadlineSeconds: o.deadlineSeconds,
    ttlStrategy: o.ttlSeconds !== undefined ? { secondsAfterCompletion: o.ttlSeconds } : undefined,
    podGC: o.podGC ? { strategy: o.podGC } : undefined,
    synchronization: synchronization(o.synchronization),
    artifactRepositoryRef: o.artifactRepositoryRef ? { configMap: o.artifactRepositoryRef.configMap, key: o.artifactRepositoryRef.key } : undefined,
    templates: templates as YamlValue,
  };
  const labels = sortObj({ ...o.labels, 'sluice.dev/pipeline': dnsLabel(ir.name) });
  // Argo's UI shows this annotation as the workflow's description.
  const described = ir.description ? { 'workflows.argoproj.io/description': ir.description } : {};
  const allAnnotations = { ...described, ...o.annotations };
  const annotations = Object.keys(allAnnotations).length ? sortObj(allAnnotations) : undefined;
  const kind = options.kind ?? 'workflow';
  const name = options.name ?? dnsLabel(ir.name);
  const namespace = options.namespace ?? o.namespace;
  const build: Record<CompileKind, () => ArgoObject> = {
    workflow: () => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: options.name, generateName: options.name ? undefined : `${dnsLabel(ir.name, 62)}-`, namespace, labels, annotations },
      spec,
    }),
    template: () => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'WorkflowTemplate', metadata: { name, namespace, labels, annotations }, spec }),
    cron: () => {
      if (!options.schedules?.length) issues.push({ code: 'compile.schedules', path: ir.name, message: 'a CronWorkflow needs at least one schedule', hint: "pass { schedules: ['0 3 * * *'] }" });
      return {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'CronWorkflow',
        metadata: { name, namespace, labels, annotations },
        spec: { schedules: [...(options.schedules ?? [])], timezone: options.timezone, workflowMetadata: { labels }, workflowSpec: spec },
      };
    },
  };
  return [build[kind]()];
}

const DISPLAY_NAME = 'workflows.argoproj.io/display-name';

function sortObj(o: { readonly [k: string]: string }): { [k: string]: string } {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
