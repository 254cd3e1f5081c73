/**
 * Leaf templates (internal): one Argo template per distinct (component, effective options, set of
 * given inputs). Task options change the pod, so tasks of one component that share options share
 * a template; per-task data travels as arguments.
 */
import {
  argoDuration, argoMemoKeyPrefix, argoRetryStrategy, cacheIdentity, cachePolicy, canonicalJson, effectiveTaskOptions, EXEC_FLAG, kubeEscape, literalNeedsEncoding, OUTPUT_LAYOUT, paramText, POD_PATHS, renderArgv, trackingPodEnv,
} from '@sluice/sdk';
import type {
  SynchronizationIR, ComponentIR, ContainerComponentIR, FunctionComponentIR, PipelineIR, SluiceIssue, TaskIR, TaskOptionsIR,
} from '@sluice/sdk';
import { argoParamName, dnsLabel, type NameRegistry } from './names.ts';
import type { YamlValue } from './yaml.ts';

export type ArgoObject = { [key: string]: YamlValue };

export const INPUTS_DIR = POD_PATHS.inputs;
export const OUTPUTS_DIR = POD_PATHS.outputs;
export { paramText };
/**
 * What the executor gets as `--task` in a pod: Argo's node name, e.g. `run-x7k2.main-c3.lp(1:3).train`
 * (for a template with a retry strategy, the retry node's name, the same for every attempt). It is
 * unique per run (loop iterations and nested pipeline calls included) and costs no bytes per
 * task, unlike a task-id argument on every DAG task; the executor reads the task id from it
 * (SDK `taskIdFromNodeName`: the last `.`-separated segment without `(…)` suffixes).
 */
export const TASK_ARG = '{{node.name}}';
/** The run id a pod's step sees (`ctx.runId`). */
export const RUN_ID_ARG = '{{workflow.uid}}';
/** Where a retried step's checkpoints live in the artifact repository: under the run and the task (node). */
export const CHECKPOINT_KEY = 'sluice/{{workflow.uid}}/checkpoints/{{node.name}}';
export const CHECKPOINT_ARTIFACT = 'sluice-checkpoint';
/**
 * A path nobody writes: output parameters the controller fills in itself read it, fail, and take
 * their `valueFrom.default` (Argo's wait container falls back to the default when the file is
 * missing). The default is substituted like the rest of the template (inputs, `{{pod.name}}`).
 */
export const UNSET_PATH = '/tmp/sluice/unset';
/** Output parameter of a memoized template: its memoize key, for consumers to fold into theirs. */
export const CACHE_KEY_OUTPUT = 'sluice-cache-key';
/** Output parameter of a producer whose artifact output is collected: its entry name under the collect's prefix. */
export const collectKeyOutput = (output: string): string => `sluice-key-${output}`;
/** Input parameter of a consumer: the JSON list of entry names of a collected artifact input, in item order. */
export const collectOrderInput = (input: string): string => argoParamName(`sluice-order-${input}`);
/** Input parameter of a memoized consumer: the cache key (or run id) behind one of its artifact inputs. */
export const cacheKeyInput = (input: string): string => argoParamName(`sluice-cache-${input}`);
/** Template input of option `i` of an artifact chosen by a condition (oneOf): optional, at `<inputs>/<name>.opt<i>`. */
export const oneOfArtifactInput = (input: string, i: number): string => argoParamName(`${input}-opt${i}`);

/** Executor flag naming, for a list input, the entries of its directory in item order. */
export const ARTIFACT_ORDER_FLAG = EXEC_FLAG.artifactOrder;
/**
 * Where collected artifacts live: `<prefix>/<pod name>` per iteration, in the workflow's artifact
 * repository (key-only artifacts). `scope` is the DAG template of the pipeline (or nested
 * pipeline) holding the loop, so a prefix is unique within a run.
 */
export function collectPrefix(scope: string, task: string, output: string): string {
  return `sluice/{{workflow.uid}}/${scope}/${task}/${argoParamName(output)}`;
}

/** How a template is memoized: not at all, by the user's own key, or by its inputs (chained through artifact producers). */
export type CacheMode = 'off' | 'key' | 'inputs';

/**
 * A template whose artifact outputs are collected is never memoized: a cache hit would return an
 * artifact stored under another run's prefix, which the collecting task does not download.
 */
export function cacheMode(o: TaskOptionsIR, collectsArtifacts: boolean): CacheMode {
  const cache = cachePolicy(o);
  if (!cache.enabled || collectsArtifacts) return 'off';
  return cache.key !== undefined ? 'key' : 'inputs';
}

export interface TemplateContext {
  readonly ir: PipelineIR;
  readonly entry: string;
  readonly exportName: string | undefined;
  readonly image: string | undefined;
  readonly executorCommand: readonly string[];
  /** The code part of function steps' memoize keys (CompileOptions.codeHash). */
  readonly codeHash?: string | undefined;
  readonly names: NameRegistry;
  readonly issues: SluiceIssue[];
  /** Templates by key, in creation order. */
  readonly leaf: Map<string, { name: string; template: ArgoObject }>;
  /** Memo: raw task key -> template name. */
  readonly byTaskKey: Map<string, string>;
  /** Memo of {@link effectiveOptions}: component -> the task's own options object -> effective options. */
  readonly effective: Map<ComponentIR, Map<TaskOptionsIR, TaskOptionsIR>>;
}

/**
 * The options a task runs with (the SDK's merge rule), merged once per distinct pair of component
 * and task options object: most tasks share their component's defaults object. Read-only.
 */
export function effectiveOptions(ctx: TemplateContext, comp: ComponentIR, task: TaskIR): TaskOptionsIR {
  let byOptions = ctx.effective.get(comp);
  if (!byOptions) ctx.effective.set(comp, (byOptions = new Map()));
  let o = byOptions.get(task.options);
  if (!o) byOptions.set(task.options, (o = effectiveTaskOptions(ctx.ir.options, comp, task)));
  return o;
}

/**
 * How a function step's parameter reaches `sluice exec` in a pod, always base64 (`--param-b64`),
 * so that no value is ever read as an Argo tag, a Kubernetes `$(VAR)` or a control character:
 * a value known at compile time that needs it (SDK `literalNeedsEncoding`) is encoded by the
 * compiler and passed as is; any other value is encoded by Argo when the pod is made
 * (`sprig.b64enc`). The flag, not the value, says how to decode, so no value can forge it.
 */
function functionParamArg(input: string, preEncoded: boolean): string {
  const p = argoParamName(input);
  return preEncoded ? `${input}={{inputs.parameters.${p}}}` : `${input}={{=sprig.b64enc(inputs.parameters['${p}'])}}`;
}

/** A container step's parameter in its command: Argo substitutes the value, escaped for Kubernetes (`$` → `$$`). */
function containerParamArg(input: string): string {
  return `{{=sprig.replace('$', '$$', inputs.parameters['${argoParamName(input)}'])}}`;
}

function sortedEntries<V>(o: { readonly [k: string]: V } | undefined): [string, V][] {
  return o ? Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : [];
}

function sortedMap(o: { readonly [k: string]: string } | undefined): ArgoObject | undefined {
  const e = sortedEntries(o);
  return e.length ? Object.fromEntries(e) : undefined;
}

/** Reports every option string containing `{{` (Argo would substitute it) or a control character (Argo's lint refuses it). */
function checkNoTemplates(value: unknown, path: string, issues: SluiceIssue[]): void {
  if (typeof value === 'string') {
    if (literalNeedsEncoding(value)) issues.push({ code: 'argo.template', path, message: `contains ${value.includes('{{') ? '"{{", which Argo would read as a template expression' : 'a control character, which Argo refuses in a manifest'}`, hint: 'pass the text as a parameter of a function component instead' });
  } else if (Array.isArray(value)) value.forEach((v, i) => checkNoTemplates(v, `${path}.${i}`, issues));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) checkNoTemplates(v, `${path}.${k}`, issues);
}


/** Argo's list forms (v3.6+ and v4): `mutexes: [{name}]`, `semaphores: [{configMapKeyRef}]`. */
export function synchronization(sync: SynchronizationIR | undefined): ArgoObject | undefined {
  if (!sync || (!sync.mutexes?.length && !sync.semaphores?.length)) return undefined;
  return {
    mutexes: sync.mutexes?.length ? sync.mutexes.map((name) => ({ name })) : undefined,
    semaphores: sync.semaphores?.length ? sync.semaphores.map((x) => ({ configMapKeyRef: { name: x.configMap, key: x.key } })) : undefined,
  };
}

/** Template fields from the effective options (pod settings, retry, timeout, cache). */
function optionFields(o: TaskOptionsIR, comp: ComponentIR, paramInputs: readonly string[], mode: CacheMode, ctx: TemplateContext) {
  const r = o.resources;
  const requests: Record<string, string> = {};
  const limits: Record<string, string | number> = {};
  if (r?.cpu) requests.cpu = r.cpu;
  if (r?.memory) { requests.memory = r.memory; limits.memory = r.memory; }
  if (r?.ephemeralStorage) requests['ephemeral-storage'] = r.ephemeralStorage;
  if (r?.gpu && r.gpu.count > 0) limits['nvidia.com/gpu'] = String(r.gpu.count);
  const resources = Object.keys(requests).length || Object.keys(limits).length
    ? { limits: Object.keys(limits).length ? limits : undefined, requests: Object.keys(requests).length ? requests : undefined }
    : undefined;

  const env: ArgoObject[] = [];
  const named: [string, ArgoObject][] = [];
  for (const [k, v] of sortedEntries(o.env)) named.push([k, { name: k, value: kubeEscape(v) }]);
  for (const [k, v] of sortedEntries(o.secretEnv)) named.push([k, { name: k, valueFrom: { secretKeyRef: { name: v.secret, key: v.key } } }]);
  for (const [k, v] of sortedEntries(o.configMapEnv)) named.push([k, { name: k, valueFrom: { configMapKeyRef: { name: v.configMap, key: v.key } } }]);
  named.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [, e] of named) env.push(e);

  const volumes: ArgoObject[] = [];
  const mounts: ArgoObject[] = [];
  for (const v of o.volumes ?? []) {
    const source: Record<'secret' | 'configMap' | 'pvc' | 'emptyDir', () => ArgoObject> = {
      secret: () => ({ secret: { secretName: (v as { secret: string }).secret } }),
      configMap: () => ({ configMap: { name: (v as { configMap: string }).configMap } }),
      pvc: () => ({ persistentVolumeClaim: { claimName: (v as { claim: string }).claim, readOnly: (v as { readOnly: boolean }).readOnly || undefined } }),
      emptyDir: () => {
        const e = v as { medium?: string; sizeLimit?: string };
        return { emptyDir: { medium: e.medium, sizeLimit: e.sizeLimit } };
      },
    };
    volumes.push({ name: v.name, ...source[v.kind]() });
    mounts.push({ name: v.name, mountPath: v.mountPath, readOnly: v.kind === 'secret' || v.kind === 'configMap' || (v.kind === 'pvc' && v.readOnly) || undefined });
  }

  const nodeSelector: Record<string, string> = { ...o.nodeSelector };
  const tolerations: ArgoObject[] = (o.tolerations ?? []).map((t) => ({ key: t.key, operator: t.operator, value: t.value, effect: t.effect, tolerationSeconds: t.tolerationSeconds }));
  if (r?.gpu && r.gpu.count > 0) {
    if (r.gpu.type) nodeSelector['nvidia.com/gpu.product'] = r.gpu.type;
    if (!tolerations.some((t) => t.key === 'nvidia.com/gpu')) tolerations.push({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
  }

  const annotations: Record<string, string> = { ...o.annotations };
  if (o.displayName) annotations['sluice.dev/display-name'] = o.displayName;
  const labels = sortedMap(o.labels);
  const ann = sortedMap(annotations);

  // The SDK's retry rule: one budget, exit codes 2 and 3 never retried (`expression`), per-wait `cap`, total `maxDuration`.
  const retryStrategy = argoRetryStrategy(o.retry) as ArgoObject | undefined;

  let memoize: ArgoObject | undefined;
  const cache = cachePolicy(o);
  if (cache.enabled && mode !== 'off') {
    // The SDK's cache identity (component, version, custom key, code), hashed, then a digest of the
    // parameter inputs (task id excluded) that Argo evaluates. Only `[a-zA-Z0-9-]` (Argo's cache
    // refuses anything else). `paramInputs` includes, for each artifact input, the producer's own
    // key (or the run's uid), so a changed artifact is a miss.
    const prefix = argoMemoKeyPrefix(cacheIdentity(comp, cache, ctx.codeHash));
    const inputsPart = cache.key === undefined && paramInputs.length
      ? `-{{=sprig.sha256sum(sprig.toJson([${paramInputs.map((p) => `inputs.parameters['${p}']`).join(', ')}]))}}`
      : '';
    memoize = {
      key: `${prefix}${inputsPart}`,
      maxAge: cache.maxAge ? argoDuration(cache.maxAge) : '',
      cache: { configMap: { name: dnsLabel(`sluice-cache-${ctx.ir.name}`) } },
    };
  }

  return {
    metadata: labels || ann ? { annotations: ann, labels } : undefined,
    nodeSelector: sortedMap(nodeSelector),
    tolerations: tolerations.length ? tolerations : undefined,
    affinity: o.affinity as YamlValue,
    serviceAccountName: o.serviceAccount,
    volumes: volumes.length ? volumes : undefined,
    retryStrategy,
    memoize,
    synchronization: synchronization(o.synchronization),
    activeDeadlineSeconds: o.timeoutSeconds,
    container: {
      env: env.length ? env : undefined,
      resources,
      volumeMounts: mounts.length ? mounts : undefined,
      imagePullPolicy: o.imagePullPolicy,
    },
  };
}

function sortKeys(names: Iterable<string>): string[] {
  return [...names].sort();
}

function ioLists(comp: ComponentIR, given: ReadonlySet<string>, withDefaults: boolean, leaf: LeafPlan) {
  const params: ArgoObject[] = [];
  const arts: ArgoObject[] = [];
  const paramNames: string[] = [];
  const artNames: string[] = [];
  /** Argo input parameters that feed the memoize key but not the step. */
  const cacheParams: string[] = [];
  /** List inputs (collected artifacts): their order parameter. */
  const orders: string[] = [];
  for (const name of sortKeys(Object.keys(comp.inputs))) {
    const spec = comp.inputs[name]!;
    if (!given.has(name)) {
      if (!withDefaults || spec.kind !== 'parameter' || spec.default === undefined) continue;
      params.push({ name: argoParamName(name), default: paramText(spec.default) });
      paramNames.push(name);
      continue;
    }
    if (spec.kind === 'parameter') { params.push({ name: argoParamName(name) }); paramNames.push(name); }
    else if (leaf.oneOf.has(name)) {
      // One optional input per option; the executor gets every path and takes the one Argo placed.
      for (let i = 0; i < leaf.oneOf.get(name)!; i++) arts.push({ name: oneOfArtifactInput(name, i), path: `${INPUTS_DIR}/${name}.opt${i}`, optional: true });
      artNames.push(name);
    } else {
      arts.push({ name: argoParamName(name), path: `${INPUTS_DIR}/${name}` });
      artNames.push(name);
      if (spec.list) { params.push({ name: collectOrderInput(name) }); orders.push(name); }
    }
  }
  if (leaf.mode === 'inputs') for (const name of artNames) { params.push({ name: cacheKeyInput(name) }); cacheParams.push(cacheKeyInput(name)); }
  const outParams: ArgoObject[] = [];
  const outArts: ArgoObject[] = [];
  for (const name of sortKeys(Object.keys(comp.outputs))) {
    const spec = comp.outputs[name]!;
    if (spec.kind === 'parameter') { outParams.push({ name: argoParamName(name), valueFrom: { path: `${OUTPUTS_DIR}/parameters/${name}` } }); continue; }
    const prefix = leaf.collected.get(name);
    if (prefix === undefined) { outArts.push({ name: argoParamName(name), path: `${OUTPUTS_DIR}/artifacts/${name}` }); continue; }
    // Collected over a loop: a key-only artifact (bucket and credentials come from the workflow's
    // artifact repository) under the collect's prefix, stored as is (a file, or a directory of
    // files) so that the prefix downloads as a directory with one entry per iteration.
    outArts.push({ name: argoParamName(name), path: `${OUTPUTS_DIR}/artifacts/${name}`, s3: { key: `${prefix}/{{pod.name}}` }, archive: { none: {} } });
    outParams.push({ name: argoParamName(collectKeyOutput(name)), valueFrom: { path: UNSET_PATH, default: '{{pod.name}}' } });
  }
  return { params, arts, paramNames, artNames, cacheParams, orders, outParams, outArts };
}

/** Per-task facts that shape a leaf template beyond its component and options. */
export interface LeafPlan {
  /** Artifact outputs collected over a loop: output name -> repository key prefix. */
  readonly collected: ReadonlyMap<string, string>;
  readonly mode: CacheMode;
  /** Parameter inputs this task binds to a literal the compiler encoded (base64). */
  readonly encoded: ReadonlySet<string>;
  /** Artifact inputs chosen by a condition: name -> number of options (one optional input each). */
  readonly oneOf: ReadonlyMap<string, number>;
}

type LeafBuilder<C extends ComponentIR> = (comp: C, hash: string, o: TaskOptionsIR, given: ReadonlySet<string>, ctx: TemplateContext, path: string, leaf: LeafPlan) => ArgoObject;

function functionTemplate(comp: FunctionComponentIR, hash: string, o: TaskOptionsIR, given: ReadonlySet<string>, ctx: TemplateContext, path: string, leaf: LeafPlan): ArgoObject {
  const io = ioLists(comp, given, false, leaf);
  const image = o.image ?? ctx.image;
  if (!image) ctx.issues.push({ code: 'argo.image', path, message: 'function component has no image to run in', hint: 'set the pipeline option image, or pass image to compile()' });
  const F = EXEC_FLAG;
  // (the user's texts: Kubernetes would expand a `$(VAR)` in them, so `$` is escaped; a "{{" is refused in compile())
  const args: string[] = [F.entry, kubeEscape(ctx.entry)];
  if (ctx.exportName) args.push(F.exportName, kubeEscape(ctx.exportName));
  args.push(F.component, hash, F.componentName, comp.name, F.task, TASK_ARG, F.runId, RUN_ID_ARG);
  for (const p of io.paramNames) args.push(F.paramBase64, functionParamArg(p, leaf.encoded.has(p)));
  for (const a of io.artNames) {
    const n = leaf.oneOf.get(a);
    if (n === undefined) args.push(F.artifact, `${a}=${INPUTS_DIR}/${a}`);
    else for (let i = 0; i < n; i++) args.push(F.artifact, `${a}=${INPUTS_DIR}/${a}.opt${i}`);
  }
  // A collected list arrives as one directory; the order names its entries, one per iteration.
  for (const a of io.orders) args.push(F.artifactOrder, `${a}={{inputs.parameters.${collectOrderInput(a)}}}`);
  // A retried step resumes from its last checkpoint, kept in the artifact repository under the run
  // and the task (the retry node's name, the same for every attempt): loaded before, saved after.
  if (argoRetryStrategy(o.retry)) {
    args.push(F.retries, '{{retries}}', F.checkpointDir, POD_PATHS.checkpoints);
    io.arts.push({ name: CHECKPOINT_ARTIFACT, path: POD_PATHS.checkpoints, optional: true, s3: { key: CHECKPOINT_KEY } });
    io.outArts.push({ name: CHECKPOINT_ARTIFACT, path: POD_PATHS.checkpoints, optional: true, s3: { key: CHECKPOINT_KEY }, archive: { none: {} } });
  }
  args.push(F.outputs, OUTPUTS_DIR);
  const t = assemble(io, o, comp, ctx, io.params, image ?? '', [...ctx.executorCommand], args, leaf);
  addTrackingEnv(t, o, ctx);
  if (Object.values(comp.outputs).some((x) => x.kind === 'artifact')) declareArtifactHashes(t);
  return t;
}

/** The output parameter a function step's executor writes its output artifacts' content hashes to (SDK OUTPUT_LAYOUT). */
const ARTIFACT_HASHES_OUTPUT = OUTPUT_LAYOUT.artifactHashes;

/**
 * Declares the output parameter the executor writes its output artifacts' sha256, size and type
 * to (Argo records no content hash), so that a run's node status carries them (`@sluice/cluster`
 * reads them back); `{}` when the step wrote none. Compiled and submitted workflows alike.
 */
function declareArtifactHashes(t: ArgoObject): void {
  const outputs = t.outputs as { parameters?: ArgoObject[]; artifacts?: ArgoObject[] };
  const hashes = { name: ARTIFACT_HASHES_OUTPUT, valueFrom: { path: `${OUTPUTS_DIR}/${OUTPUT_LAYOUT.parameters}/${OUTPUT_LAYOUT.artifactHashes}`, default: '{}' } };
  t.outputs = { ...outputs, parameters: [...(outputs.parameters ?? []), hashes] };
}

/**
 * The pipeline's tracking option as a function step's environment (SDK `trackingPodEnv`; the
 * executor reads it with the same precedence as a local run): plain values escaped for
 * Kubernetes (`$` -> `$$`, never an Argo expression), the token by secret reference only. A
 * variable the task sets itself (env, secretEnv, configMapEnv) wins, as the environment does locally.
 */
function addTrackingEnv(t: ArgoObject, o: TaskOptionsIR, ctx: TemplateContext): void {
  const { plain, secret } = trackingPodEnv(ctx.ir.options.tracking, ctx.ir.name);
  if (!plain.length && !secret.length) return;
  const taken = new Set([...Object.keys(o.env ?? {}), ...Object.keys(o.secretEnv ?? {}), ...Object.keys(o.configMapEnv ?? {})]);
  const c = t.container as ArgoObject;
  const env = [...((c.env as ArgoObject[] | undefined) ?? [])];
  for (const [name, value] of plain) if (!taken.has(name)) env.push({ name, value: kubeEscape(value) });
  for (const [name, ref] of secret) if (!taken.has(name)) env.push({ name, valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } } });
  env.sort((a, b) => (String(a.name) < String(b.name) ? -1 : String(a.name) > String(b.name) ? 1 : 0));
  c.env = env;
}

function containerTemplate(comp: ContainerComponentIR, _hash: string, o: TaskOptionsIR, given: ReadonlySet<string>, ctx: TemplateContext, path: string, leaf: LeafPlan): ArgoObject {
  const io = ioLists(comp, given, true, leaf);
  const rawArtifacts: ArgoObject[] = [];
  // The SDK's one rendering of a container command, spelled for a pod.
  const command = renderArgv(comp, {
    literal: (v) => {
      if (literalNeedsEncoding(v)) ctx.issues.push({ code: 'argo.template', path: `${path}/command`, message: `literal argument ${JSON.stringify(v)} contains ${v.includes('{{') ? '"{{", which Argo would read as a template expression' : 'a control character, which Argo refuses in a manifest'}`, hint: 'pass the text as an input of the component instead' });
      return kubeEscape(v);
    },
    inputValue: (name) => containerParamArg(name),
    inputPath: (name, kind) => {
      // A parameter read from a file: Argo writes the value as a raw artifact.
      if (kind === 'parameter' && !rawArtifacts.some((r) => r.name === `${argoParamName(name)}-file`)) {
        rawArtifacts.push({ name: `${argoParamName(name)}-file`, path: `${INPUTS_DIR}/${name}`, raw: { data: `{{inputs.parameters.${argoParamName(name)}}}` } });
      }
      return `${INPUTS_DIR}/${name}`;
    },
    outputPath: (name, kind) => `${OUTPUTS_DIR}/${kind === 'artifact' ? 'artifacts' : 'parameters'}/${name}`,
  });
  io.arts.push(...rawArtifacts);
  const image = o.image ?? comp.image;
  const t = assemble(io, o, comp, ctx, io.params, image, command, undefined, leaf);
  // The command writes its outputs to /tmp/sluice/outputs/{parameters,artifacts}/<name>: the pod
  // gets those directories as emptyDir volumes (no shell, nothing needed in the image).
  const kinds = [...new Set(Object.values(comp.outputs).map((x) => (x.kind === 'artifact' ? 'artifacts' : 'parameters')))].sort();
  if (kinds.length) {
    t.volumes = [...((t.volumes as ArgoObject[] | undefined) ?? []), ...kinds.map((k) => ({ name: `sluice-outputs-${k}`, emptyDir: {} }))];
    const c = t.container as ArgoObject;
    c.volumeMounts = [...((c.volumeMounts as ArgoObject[] | undefined) ?? []), ...kinds.map((k) => ({ name: `sluice-outputs-${k}`, mountPath: `${OUTPUTS_DIR}/${k}` }))];
  }
  return t;
}

function assemble(io: ReturnType<typeof ioLists>, o: TaskOptionsIR, comp: ComponentIR, ctx: TemplateContext, params: ArgoObject[], image: string, command: string[], args: string[] | undefined, leaf: LeafPlan): ArgoObject {
  const f = optionFields(o, comp, [...io.paramNames.map((n) => argoParamName(n)), ...io.cacheParams], leaf.mode, ctx);
  // A memoized step also reports its key: consumers fold it into theirs (chained cache keys).
  if (f.memoize) io.outParams.push({ name: CACHE_KEY_OUTPUT, valueFrom: { path: UNSET_PATH, default: f.memoize.key as string } });
  return {
    name: '',
    metadata: f.metadata,
    inputs: params.length || io.arts.length ? { parameters: params.length ? params : undefined, artifacts: io.arts.length ? io.arts : undefined } : undefined,
    outputs: io.outParams.length || io.outArts.length ? { parameters: io.outParams.length ? io.outParams : undefined, artifacts: io.outArts.length ? io.outArts : undefined } : undefined,
    nodeSelector: f.nodeSelector,
    tolerations: f.tolerations,
    affinity: f.affinity,
    serviceAccountName: f.serviceAccountName,
    volumes: f.volumes,
    retryStrategy: f.retryStrategy,
    memoize: f.memoize,
    synchronization: f.synchronization,
    activeDeadlineSeconds: f.activeDeadlineSeconds,
    container: { image, imagePullPolicy: f.container.imagePullPolicy, command, args, env: f.container.env, resources: f.container.resources, volumeMounts: f.container.volumeMounts },
  };
}

const LEAF: { readonly [K in 'function' | 'container']: LeafBuilder<Extract<ComponentIR, { kind: K }>> } = {
  function: functionTemplate,
  container: containerTemplate,
};

/**
 * The leaf template a task runs, created on first use. `path` names the task for issues.
 */
export function leafTemplateFor(task: TaskIR, hash: string, comp: FunctionComponentIR | ContainerComponentIR, path: string, ctx: TemplateContext, collected: ReadonlyMap<string, string> = new Map(), encoded: ReadonlySet<string> = new Set(), oneOf: ReadonlyMap<string, number> = new Map()): string {
  const inputNames = Object.keys(task.inputs);
  const collectedText = (collected.size ? [...collected].map(([o, p]) => `${o}>${p}`).join(',') : '') + (encoded.size ? `|b64:${[...encoded].sort().join(',')}` : '') + (oneOf.size ? `|oneOf:${[...oneOf].sort().map(([k, n]) => `${k}*${n}`).join(',')}` : '');
  const quick = `${hash}|${inputNames.join(',')}|${Object.keys(task.options).length ? canonicalJson(task.options) : ''}|${collectedText}`;
  const memo = ctx.byTaskKey.get(quick);
  if (memo !== undefined) return memo;
  const o = effectiveOptions(ctx, comp, task);
  checkNoTemplates(o, `${path}/options`, ctx.issues);
  const given = new Set(inputNames);
  const key = `${hash}|${[...given].sort().join(',')}|${canonicalJson(o)}|${collectedText}`;
  let entry = ctx.leaf.get(key);
  if (!entry) {
    const leaf: LeafPlan = { collected, mode: cacheMode(o, collected.size > 0), encoded, oneOf };
    const template = (LEAF[comp.kind] as LeafBuilder<typeof comp>)(comp, hash, o, given, ctx, path, leaf);
    const name = ctx.names.take(comp.name);
    template.name = name;
    entry = { name, template };
    ctx.leaf.set(key, entry);
  }
  ctx.byTaskKey.set(quick, entry.name);
  return entry.name;
}
