/**
 * The compiler: validate -> lower -> fit Argo's limits -> render -> split by size -> check ->
 * emit. Each pass is a function over plain data; this file only wires them together.
 */
import { SluiceValidationError } from '@sluice/sdk';
import { validate } from './validate.ts';
import type { IOSpec, JsonValue, PipelineComponentIR, PipelineIR, SluiceIssue } from '@sluice/sdk';
import { jsonBytes, MAX_TEMPLATES, placeTemplates, type Placement } from './documents.ts';
import { lowerBinding, lowerDag, lowerExitTask, scanScope, type ArgVal, type LowerContext, type Scope } from './lower.ts';
import { argoParamName, dnsLabel, isDnsLabel, NameRegistry } from './names.ts';
import { renderDag, type RenderContext } from './render.ts';
import { fitLimits } from './split.ts';
import { IdIndex } from './ids.ts';
import { SOURCE_MAP_ANNOTATION, SourceMapBuilder, sourceMapAnnotation, type SourceMap } from './sourcemap.ts';
import { paramText, synchronization, type ArgoObject } from './templates.ts';
import { isImageReference, literalNeedsEncoding } from '@sluice/sdk';
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
  /**
   * Largest object, in bytes of JSON, to emit: a spec that would be larger is split into library
   * `WorkflowTemplate`s referenced with `templateRef`. The default leaves a quarter of Kubernetes'
   * usual 1 MiB for what the API server and Argo's controller add.
   * @default 786432
   */
  readonly maxDocumentBytes?: number;
  /**
   * Hash of the pipeline's bundled module graph (`@sluice/bundle`'s `pipelineCodeHash`, as local
   * runs use it): the code part of function steps' `memoize` keys, so that a changed helper outside
   * `run()` misses the cache on Argo too. Without it the keys cover each step's `run` source only.
   */
  readonly codeHash?: string;
}

/** What {@link compile} returns. */
export interface CompileResult {
  /**
   * The Argo objects (plain data), in output order: the library `WorkflowTemplate`s first when
   * the spec was split by size (so that `kubectl create -f` creates them before their user),
   * then the entry object (the Workflow, WorkflowTemplate or CronWorkflow).
   */
  readonly objects: readonly ArgoObject[];
  /** The entry object (the last of `objects`). */
  readonly entry: ArgoObject;
  /** The same objects as YAML documents (deterministic: the same input gives the same bytes). */
  readonly yaml: string;
  /** Every emitted template and DAG task name -> the IR node it stands for. */
  readonly sourceMap: SourceMap;
}

/** Argo v4 CRD limits. */
const LIMITS = { templates: MAX_TEMPLATES, inputParameters: 500 } as const;

/** Kubernetes refuses an object whose annotations together exceed 256 KiB. */
const ANNOTATIONS_LIMIT = 256 * 1024;
/** Above this, a document is refused by the API server (etcd's request limit is 1.5 MiB; 1 MiB is the documented safe size). */
const HARD_LIMIT = 1024 * 1024;

const ROOT = 'main';
const EXIT = 'exit-handler';
const DISPLAY_NAME = 'workflows.argoproj.io/display-name';

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
 * DAGs that fit Argo's limits, and emits deterministic YAML. A spec too large for one object is
 * split into library `WorkflowTemplate`s (see {@link CompileResult.objects}). Nothing is written
 * anywhere.
 *
 * @throws SluiceValidationError with every problem found; no partial output.
 * @example
 * import { toIR } from '@sluice/sdk';
 * import { compile } from '@sluice/compiler';
 * const { yaml, sourceMap } = compile(toIR(trainPipeline), { entry: 'pipelines/train.ts', image: 'ghcr.io/acme/train:1.4' });
 * await writeFile('train.yaml', yaml);
 */
export function compile(ir: PipelineIR, options: CompileOptions): CompileResult {
  const sdkIssues = validate(ir);
  const issues: SluiceIssue[] = [];
  let out: { objects: ArgoObject[]; sourceMap: SourceMap } | undefined;
  try {
    out = lowerPipeline(ir, options, issues);
  } catch (e) {
    // Lowering assumes a valid IR; when validation already failed, its issues are the report.
    if (!sdkIssues.length) throw e;
  }
  const all = [...sdkIssues, ...issues];
  if (all.length || !out) throw new SluiceValidationError(all);
  const { objects, sourceMap } = out;
  return { objects, entry: objects[objects.length - 1]!, yaml: objects.map((o) => toYaml(o)).join('---\n'), sourceMap };
}

interface Nested { readonly comp: PipelineComponentIR; readonly hash: string; readonly name: string; readonly displayName: string | undefined }

function lowerContext(ir: PipelineIR, options: CompileOptions, issues: SluiceIssue[], queue: Nested[]): LowerContext {
  const names = new NameRegistry([ROOT, EXIT]);
  const nested = new Map<string, string>();
  return {
    ir,
    entry: options.entry,
    exportName: options.exportName,
    image: options.image ?? ir.options.image,
    executorCommand: options.executorCommand ?? ['sluice', 'exec'],
    codeHash: options.codeHash,
    names,
    issues,
    leaf: new Map(),
    byTaskKey: new Map(),
    effective: new Map(),
    plainLeaf: new Map(),
    nested,
    requestNested: (hash, comp, displayName) => {
      // A display name is a template annotation in Argo: one template per distinct name.
      const key = displayName === undefined ? hash : `${hash}|${displayName}`;
      let n = nested.get(key);
      if (n === undefined) {
        n = names.take(comp.name);
        nested.set(key, n);
        queue.push({ hash, comp, name: n, displayName });
      }
      return n;
    },
  };
}

/** Lowers and renders the root DAG, the exit handler and every nested pipeline; returns whether there is an exit handler. */
function renderPipeline(ir: PipelineIR, ctx: LowerContext, queue: readonly Nested[], rc: RenderContext): boolean {
  const rootScan = scanScope(ir.dag, ir);
  const rootScope: Scope = { root: true, id: ROOT, params: ir.params, ...rootScan, path: ir.name };
  const rootDag = lowerDag(ir.dag, ROOT, rootScope, ctx);
  const rootExports = new Map<string, ArgVal>();
  for (const name of Object.keys(ir.outputValues).sort()) rootExports.set(argoParamName(name), lowerBinding(ir.outputValues[name]!, rootScope, ctx, `${ir.name}/outputs.${name}`));
  fitLimits(rootDag, ctx.names, rootScope.ids.size);
  renderDag(rootDag, rootExports, { root: true, global: true }, rc, { kind: 'pipeline', scope: '' }, new IdIndex(rootScope.ids.size));
  if (ir.exitHandler) {
    const scan = scanScope([], ir, [ir.exitHandler]);
    const exitScope: Scope = { root: true, id: EXIT, params: ir.params, ...scan, path: ir.name };
    const exitDag = { name: EXIT, tasks: lowerExitTask(ir.exitHandler, exitScope, ctx) };
    fitLimits(exitDag, ctx.names, exitScope.ids.size);
    renderDag(exitDag, new Map(), { root: true }, rc, { kind: 'exit-handler', scope: '' }, new IdIndex(exitScope.ids.size));
  }
  // Nested pipeline components: one closed DAG template each (the queue grows while lowering).
  for (let i = 0; i < queue.length; i++) renderNested(ir, queue[i]!, ctx, rc);
  return ir.exitHandler !== null;
}

function renderNested(ir: PipelineIR, { comp, hash, name, displayName }: Nested, ctx: LowerContext, rc: RenderContext): void {
  const scan = scanScope(comp.dag, ir);
  const scope: Scope = { root: false, id: name, params: comp.inputs, ...scan, path: `${ir.name}/${name}` };
  const dag = lowerDag(comp.dag, name, scope, ctx);
  const exports = new Map<string, ArgVal>();
  for (const o of Object.keys(comp.outputValues).sort()) exports.set(argoParamName(o), lowerBinding(comp.outputValues[o]!, scope, ctx, `${scope.path}/outputs.${o}`));
  fitLimits(dag, ctx.names, scope.ids.size);
  const inParams: ArgoObject[] = [];
  const inArts: ArgoObject[] = [];
  for (const k of Object.keys(comp.inputs).sort()) (comp.inputs[k]!.kind === 'artifact' ? inArts : inParams).push({ name: argoParamName(k) });
  const annotations = displayName === undefined ? undefined : { [DISPLAY_NAME]: displayName };
  renderDag(dag, exports, { root: false, inputs: { parameters: inParams, artifacts: inArts }, ...(annotations ? { annotations } : {}) }, rc, { kind: 'nested', scope: hash, component: hash, name: comp.name }, new IdIndex(scope.ids.size));
}

function lowerPipeline(ir: PipelineIR, options: CompileOptions, issues: SluiceIssue[]): { objects: ArgoObject[]; sourceMap: SourceMap } {
  const queue: Nested[] = [];
  const ctx = lowerContext(ir, options, issues, queue);
  if (!options.entry) issues.push({ code: 'compile.entry', path: ir.name, message: 'compile needs the entry file the executor imports in the pod', hint: 'pass { entry: "path/to/pipeline.ts" }' });
  entryIssues(options, ir.name, issues);
  const map = new SourceMapBuilder();
  const rc: RenderContext = { templates: [], issues, map };
  const hasExit = renderPipeline(ir, ctx, queue, rc);
  for (const [key, e] of ctx.leaf) {
    const hash = key.slice(0, key.indexOf('|'));
    map.template(e.name, { kind: 'component', scope: '', component: hash, name: ir.components[hash]?.name ?? e.name });
  }
  const templates = [...rc.templates, ...[...ctx.leaf.values()].map((e) => e.template)];
  const args = paramSpecs(ir.params, options.params, ir.name, issues);
  const rootInputs = (rc.templates[0]?.inputs as { artifacts?: ArgoObject[] } | undefined)?.artifacts;
  const spec = workflowSpec(ir, args.parameters, rootInputs, hasExit);
  const m = objectMeta(ir, options);
  const kind = options.kind ?? 'workflow';
  if (kind === 'cron' && !options.schedules?.length) issues.push({ code: 'compile.schedules', path: ir.name, message: 'a CronWorkflow needs at least one schedule', hint: "pass { schedules: ['0 3 * * *'] }" });
  metadataIssues(kind, m, templates, ir.name, issues);
  const entryOf = (templateList: readonly ArgoObject[], annotation: string | undefined) => entryObject(kind, options, m, { ...spec, templates: templateList as YamlValue }, annotation);

  // Size: measured on the entry object with a full-size annotation stand-in, then split if needed.
  const renamed = map.compact();
  const provisional = sourceMapAnnotation(map.build(ir.name), renamed);
  // Room for each template's `"document":"<library>"` in the final annotation.
  const envelope = jsonBytes(entryOf([], `${provisional}${' '.repeat(templates.length * 96)}`));
  const library = (name: string, list: readonly ArgoObject[]) => libraryObject(name, m, args.parameters, list);
  const placement = placeTemplates(templates, new Set([ROOT, EXIT]), envelope, jsonBytes(library(`${m.prefix}-0123456789-000`, [])), m.prefix, options.maxDocumentBytes);
  const split = placement.libraries ? placement : undefined;
  const libraries = split ? split.libraries.map((l) => { map.placeIn(l.name, l.templates.filter((t) => t.dag !== undefined).map((t) => t.name as string)); return library(l.name, l.templates); }) : [];
  const sourceMap = map.build(ir.name);
  const annotation = sourceMapAnnotation(sourceMap, renamed);
  const entry = entryOf(split ? split.entry : templates, annotation);
  checkDocuments(split, templates, placement.entryBytes, annotation, ir.name, issues);
  return { objects: [...libraries, entry], sourceMap };
}

/** Argo's limits in each document, and sizes (upper bounds from the size pass) under what the API server accepts. */
function checkDocuments(split: Placement | undefined, templates: readonly ArgoObject[], entryBytes: number, annotation: string, path: string, issues: SluiceIssue[]): void {
  const tooLarge = (where: string, what: string, n: number) => issues.push({ code: 'argo.size', path: where, message: `${what} takes about ${n} bytes as JSON; the API server accepts about ${HARD_LIMIT}`, hint: 'a single template this large cannot be split: shorten its literals, or pass large values as artifacts' });
  if (!split) checkLimits(templates, path, issues);
  else {
    checkLimits(split.entry, path, issues);
    for (const l of split.libraries) {
      checkLimits(l.templates, `${path}/${l.name}`, issues);
      if (l.bytes > HARD_LIMIT) tooLarge(`${path}/${l.name}`, `the library WorkflowTemplate ${l.name}`, l.bytes);
    }
  }
  if (entryBytes > HARD_LIMIT) tooLarge(path, 'the entry object (with the root DAG)', entryBytes);
  if (annotation.length > ANNOTATIONS_LIMIT) issues.push({ code: 'argo.limit', path, message: `the source map annotation takes ${annotation.length} bytes; Kubernetes accepts at most ${ANNOTATIONS_LIMIT} bytes of annotations`, hint: 'most of the map lists renamed tasks: give tasks ids that are valid DNS labels' });
}

function workflowSpec(ir: PipelineIR, parameters: ArgoObject[], rootInputs: ArgoObject[] | undefined, hasExit: boolean): ArgoObject {
  const o = ir.options;
  return {
    entrypoint: ROOT,
    arguments: parameters.length || rootInputs?.length
      ? { parameters: parameters.length ? parameters : undefined, artifacts: rootInputs?.length ? rootInputs.map((a) => ({ name: a.name })) : undefined }
      : undefined,
    onExit: hasExit ? EXIT : undefined,
    serviceAccountName: o.serviceAccount,
    parallelism: o.parallelism,
    activeDeadlineSeconds: o.deadlineSeconds,
    ttlStrategy: o.ttlSeconds !== undefined ? { secondsAfterCompletion: o.ttlSeconds } : undefined,
    podGC: o.podGC ? { strategy: o.podGC } : undefined,
    synchronization: synchronization(o.synchronization),
    artifactRepositoryRef: o.artifactRepositoryRef ? { configMap: o.artifactRepositoryRef.configMap, key: o.artifactRepositoryRef.key } : undefined,
  };
}

interface Meta {
  readonly name: string;
  /** The name was given (`options.name`), not made from the pipeline's. */
  readonly explicitName: boolean;
  readonly namespace: string | undefined;
  readonly labels: { [k: string]: string };
  readonly annotations: { readonly [k: string]: string };
  /** Library names start with this. */
  readonly prefix: string;
  readonly pipeline: string;
}

function objectMeta(ir: PipelineIR, options: CompileOptions): Meta {
  const o = ir.options;
  // Argo's UI shows this annotation as the workflow's description.
  const described = ir.description ? { 'workflows.argoproj.io/description': ir.description } : {};
  return {
    name: options.name ?? dnsLabel(ir.name),
    explicitName: options.name !== undefined,
    namespace: options.namespace ?? o.namespace,
    labels: sortObj({ ...o.labels, 'sluice.dev/pipeline': dnsLabel(ir.name) }),
    annotations: { ...described, ...o.annotations },
    prefix: dnsLabel(ir.name, 40),
    pipeline: ir.name,
  };
}

/** A Kubernetes object name (a DNS-1123 subdomain; its length is checked apart). */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * What the API server and Argo would refuse in the objects' names and images, said at compile
 * time: a namespace is a DNS-1123 label; an object name a DNS-1123 subdomain of at most 63 characters (Argo's
 * limit for a Workflow's and a WorkflowTemplate's) or 52 for a CronWorkflow (Argo appends an
 * 11-character suffix to the Workflows it creates); an image reference holds no whitespace.
 */
function metadataIssues(kind: CompileKind, m: Meta, templates: readonly ArgoObject[], path: string, issues: SluiceIssue[]): void {
  if (m.namespace !== undefined && !isDnsLabel(m.namespace)) {
    issues.push({ code: 'compile.namespace', path: `${path}/namespace`, message: `namespace "${m.namespace}" is not a Kubernetes namespace name: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters` });
  }
  const max = kind === 'cron' ? 52 : 63;
  // (a name made from the pipeline's is a DNS label of at most 63 characters: only a CronWorkflow's can be too long)
  if ((m.explicitName || kind === 'cron') && !(m.name.length <= max && OBJECT_NAME.test(m.name))) {
    issues.push({
      code: 'compile.name', path: `${path}/name`,
      message: `object name "${m.name.length > 80 ? `${m.name.slice(0, 80)}…` : m.name}" is not a name Argo accepts for a ${kind === 'cron' ? 'CronWorkflow' : kind === 'template' ? 'WorkflowTemplate' : 'Workflow'}: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most ${max} characters${kind === 'cron' ? ' (Argo appends an 11-character suffix to each Workflow it starts)' : ''}`,
      ...(m.explicitName ? {} : { hint: 'give the CronWorkflow a shorter name (--name, or the name option)' }),
    });
  }
  const seen = new Set<string>();
  for (const t of templates) {
    const image = (t.container as { image?: unknown } | undefined)?.image;
    if (typeof image !== 'string' || image === '' || seen.has(image)) continue;
    seen.add(image);
    // (a missing one is said where the template is made)
    if (image.includes('{{')) issues.push({ code: 'argo.template', path: `${path}/${String(t.name)}/image`, message: `image ${JSON.stringify(image)} contains "{{", which Argo would read as a template expression` });
    else if (/[\s\u0000-\u001f\u007f]/.test(image)) issues.push({ code: 'compile.image', path: `${path}/${String(t.name)}/image`, message: `image ${JSON.stringify(image)} is not an image reference: it holds whitespace or a control character` });
    // the API server takes any text; the node refuses it when the pod starts (InvalidImageName)
    else if (!isImageReference(image)) issues.push({ code: 'compile.image', path: `${path}/${String(t.name)}/image`, message: `image ${JSON.stringify(image)} is not an image reference a node can pull: [registry[:port]/]name[:tag][@digest], the name in lowercase letters, digits and . _ - separators, e.g. ghcr.io/acme/train:1.4` });
  }
}

/** The entry file and export name go into every function step's arguments: Argo would substitute a "{{" in them. */
function entryIssues(options: CompileOptions, path: string, issues: SluiceIssue[]): void {
  for (const [what, v] of [['entry', options.entry], ['exportName', options.exportName]] as const) {
    if (v !== undefined && v.includes('{{')) issues.push({ code: 'argo.template', path: `${path}/${what}`, message: `${what === 'entry' ? 'the entry file' : 'the export name'} ${JSON.stringify(v)} contains "{{", which Argo would read as a template expression` });
    // eslint-disable-next-line no-control-regex
    else if (v !== undefined && /[\u0000-\u001f\u007f]/.test(v)) issues.push({ code: 'argo.template', path: `${path}/${what}`, message: `${what === 'entry' ? 'the entry file' : 'the export name'} ${JSON.stringify(v)} contains a control character, which Argo refuses in a manifest` });
  }
}

function withAnnotation(annotations: { readonly [k: string]: string }, annotation: string | undefined): { [k: string]: string } | undefined {
  const all = annotation === undefined ? { ...annotations } : { ...annotations, [SOURCE_MAP_ANNOTATION]: annotation };
  return Object.keys(all).length ? sortObj(all) : undefined;
}

/**
 * The entry object. The source map annotation goes where a Workflow made from it carries it:
 * the Workflow's own metadata, or the `workflowMetadata` of a WorkflowTemplate or CronWorkflow.
 */
function entryObject(kind: CompileKind, options: CompileOptions, m: Meta, spec: ArgoObject, annotation: string | undefined): ArgoObject {
  const { labels, namespace, name } = m;
  const annotations = withAnnotation(m.annotations, kind === 'workflow' ? annotation : undefined);
  const workflowMetadata = (extra: ArgoObject) => {
    const a = annotation === undefined ? undefined : { [SOURCE_MAP_ANNOTATION]: annotation };
    return { ...extra, annotations: a };
  };
  const build: Record<CompileKind, () => ArgoObject> = {
    workflow: () => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: options.name, generateName: options.name ? undefined : `${dnsLabel(m.pipeline, 62)}-`, namespace, labels, annotations },
      spec,
    }),
    template: () => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'WorkflowTemplate', metadata: { name, namespace, labels, annotations }, spec: { ...spec, workflowMetadata: workflowMetadata({}) } }),
    cron: () => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'CronWorkflow',
      metadata: { name, namespace, labels, annotations },
      spec: { schedules: [...(options.schedules ?? [])], timezone: options.timezone, workflowMetadata: workflowMetadata({ labels }), workflowSpec: spec },
    }),
  };
  return build[kind]();
}

/** A library WorkflowTemplate: templates only, and the pipeline parameters they may refer to (declared, without values). */
function libraryObject(name: string, m: Meta, parameters: readonly ArgoObject[], templates: readonly ArgoObject[]): ArgoObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'WorkflowTemplate',
    metadata: { name, namespace: m.namespace, labels: sortObj({ ...m.labels, 'sluice.dev/library-of': m.prefix }) },
    spec: {
      arguments: parameters.length ? { parameters: parameters.map((p) => ({ name: p.name })) } : undefined,
      templates: templates as YamlValue,
    },
  };
}

function sortObj(o: { readonly [k: string]: string }): { [k: string]: string } {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
