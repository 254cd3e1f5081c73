/**
 * Leaf templates (internal): one Argo template per distinct (component, effective options, set of
 * given inputs). Task options change the pod, so tasks of one component that share options share
 * a template; per-task data travels as arguments.
 */
import { canonicalJson, effectiveTaskOptions, parseDuration } from '@sluice/sdk';
import type {
  SynchronizationIR, ArgIR, ArgKind, ComponentIR, ContainerComponentIR, FunctionComponentIR, JsonValue, PipelineIR, RetryOn, SluiceIssue, TaskIR, TaskOptionsIR,
} from '@sluice/sdk';
import { argoParamName, dnsLabel, type NameRegistry } from './names.ts';
import type { YamlValue } from './yaml.ts';

export type ArgoObject = { [key: string]: YamlValue };

export const INPUTS_DIR = '/tmp/sluice/inputs';
export const OUTPUTS_DIR = '/tmp/sluice/outputs';
/**
 * What the executor gets as `--task` in a pod: Argo's node name, e.g. `run-x7k2.main-c3.train(1)`.
 * It is unique per run (loop iterations and nested pipeline calls included) and costs no bytes per
 * task, unlike a task-id argument on every DAG task; the task id is its last `.`-separated segment
 * without a trailing `(n)` retry suffix (task names never contain `.` or `(`).
 */
export const TASK_ARG = '{{node.name}}';
/** Prefix of literals the executor decodes (base64 of the UTF-8 text). */
export const B64_PREFIX = 'sluice:b64:';
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
/** Executor flag naming, for a list input, the entries of its directory in item order. */
export const ARTIFACT_ORDER_FLAG = '--artifact-order';
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
  if (!o.cache?.enabled || collectsArtifacts) return 'off';
  return o.cache.key !== undefined ? 'key' : 'inputs';
}

export interface TemplateContext {
  readonly ir: PipelineIR;
  readonly entry: string;
  readonly exportName: string | undefined;
  readonly image: string | undefined;
  readonly executorCommand: readonly string[];
  readonly names: NameRegistry;
  readonly issues: SluiceIssue[];
  /** Templates by key, in creation order. */
  readonly leaf: Map<string, { name: string; template: ArgoObject }>;
  /** Memo: raw task key -> template name. */
  readonly byTaskKey: Map<string, string>;
}

/** Neutralises a literal string headed for a manifest: Argo would substitute `{{...}}` anywhere. */
export function encodeLiteral(s: string): string {
  return s.includes('{{') || s.startsWith(B64_PREFIX) ? B64_PREFIX + Buffer.from(s, 'utf8').toString('base64') : s;
}

/** The text form of a parameter value: strings as they are, everything else JSON. */
export function paramText(v: JsonValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function sortedEntries<V>(o: { readonly [k: string]: V } | undefined): [string, V][] {
  return o ? Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : [];
}

function sortedMap(o: { readonly [k: string]: string } | undefined): ArgoObject | undefined {
  const e = sortedEntries(o);
  return e.length ? Object.fromEntries(e) : undefined;
}

/** Reports every option string containing `{{`: Argo would substitute it. */
function checkNoTemplates(value: unknown, path: string, issues: SluiceIssue[]): void {
  if (typeof value === 'string') {
    if (value.includes('{{')) issues.push({ code: 'argo.template', path, message: `contains "{{", which Argo would read as a template expression`, hint: 'pass the text as a parameter of a function component instead' });
  } else if (Array.isArray(value)) value.forEach((v, i) => checkNoTemplates(v, `${path}.${i}`, issues));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) checkNoTemplates(v, `${path}.${k}`, issues);
}

const RETRY_POLICY: Record<RetryOn, string> = { always: 'Always', failure: 'OnFailure', error: 'OnError', transient: 'OnTransientError' };

function seconds(d: string): string {
  const s = parseDuration(d);
  return s === undefined ? d : `${s}s`;
}

/** Argo's list forms (v3.6+ and v4): `mutexes: [{name}]`, `semaphores: [{configMapKeyRef}]`. */
export function synchronization(sync: SynchronizationIR | undefined): ArgoObject | undefined {
  if (!sync || (!sync.mutexes?.length && !sync.semaphores?.length)) return undefined;
  return {
    mutexes: sync.mutexes?.length ? sync.mutexes.map((name) => ({ name })) : undefined,
    semaphores: sync.semaphores?.length ? sync.semaphores.map((x) => ({ configMapKeyRef: { name: x.configMap, key: x.key } })) : undefined,
  };
}

function intOrString(n: number): number | string {
  return Number.isInteger(n) ? n : String(n);
}

/** Template fields from the effective options (pod settings, retry, timeout, cache). */
function optionFields(o: TaskOptionsIR, comp: ComponentIR, compHash: string, paramInputs: readonly string[], mode: CacheMode, ctx: TemplateContext) {
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
  for (const [k, v] of sortedEntries(o.env)) named.push([k, { name: k, value: v }]);
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

  let retryStrategy: ArgoObject | undefined;
  if (o.retry && o.retry.limit > 0) {
    const b = o.retry.backoff;
    retryStrategy = {
      limit: o.retry.limit,
      retryPolicy: RETRY_POLICY[o.retry.on],
      backoff: b ? { duration: seconds(b.duration), factor: b.factor === undefined ? undefined : intOrString(b.factor), maxDuration: b.maxDuration === undefined ? undefined : seconds(b.maxDuration) } : undefined,
    };
  }

  let memoize: ArgoObject | undefined;
  if (o.cache?.enabled && mode !== 'off') {
    // Key: component hash, cache version, then a digest of the parameter inputs (task id excluded),
    // hashed so that any input text gives a valid ConfigMap key. `paramInputs` includes, for each
    // artifact input, the producer's own key (or the run's uid), so a changed artifact is a miss.
    const version = o.cache.version ? `.${dnsLabel(o.cache.version)}` : '';
    let inputsPart = '';
    if (o.cache.key !== undefined) inputsPart = `.${dnsLabel(o.cache.key)}`;
    else if (paramInputs.length) inputsPart = `.{{=sprig.sha256sum(sprig.toJson([${paramInputs.map((p) => `inputs.parameters['${p}']`).join(', ')}]))}}`;
    memoize = {
      key: `${compHash}${version}${inputsPart}`,
      maxAge: o.cache.maxAge ? seconds(o.cache.maxAge) : '',
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
      params.push({ name: argoParamName(name), default: encodeLiteral(paramText(spec.default)) });
      paramNames.push(name);
      continue;
    }
    if (spec.kind === 'parameter') { params.push({ name: argoParamName(name) }); paramNames.push(name); }
    else {
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
}

type LeafBuilder<C extends ComponentIR> = (comp: C, hash: string, o: TaskOptionsIR, given: ReadonlySet<string>, ctx: TemplateContext, path: string, leaf: LeafPlan) => ArgoObject;

function functionTemplate(comp: FunctionComponentIR, hash: string, o: TaskOptionsIR, given: ReadonlySet<string>, ctx: TemplateContext, path: string, leaf: LeafPlan): ArgoObject {
  const io = ioLists(comp, given, false, leaf);
  const image = o.image ?? ctx.image;
  if (!image) ctx.issues.push({ code: 'argo.image', path, message: 'function component has no image to run in', hint: 'set the pipeline option image, or pass image to compile()' });
  const args: string[] = ['--entry', ctx.entry];
  if (ctx.exportName) args.push('--export', ctx.exportName);
  args.push('--component', hash, '--component-name', comp.name, '--task', TASK_ARG);
  for (const p of io.paramNames) args.push('--param', `${p}={{inputs.parameters.${argoParamName(p)}}}`);
  for (const a of io.artNames) args.push('--artifact', `${a}=${INPUTS_DIR}/${a}`);
  // A collected list arrives as one directory; the order names its entries, one per iteration.
  for (const a of io.orders) args.push(ARTIFACT_ORDER_FLAG, `${a}={{inputs.parameters.${collectOrderInput(a)}}}`);
  args.push('--outputs', OUTPUTS_DIR);
  return assemble(io, o, comp, hash, ctx, io.params, image ?? '', [...ctx.executorCommand], args, leaf);
}

function containerTemplate(comp: ContainerComponentIR, hash: string, o: TaskOptionsIR, given: ReadonlySet<string>, ctx: TemplateContext, path: string, leaf: LeafPlan): ArgoObject {
  const io = ioLists(comp, given, true, leaf);
  const rawArtifacts: ArgoObject[] = [];
  const lower: Record<ArgKind, (a: ArgIR) => string> = {
    literal: (a) => {
      const v = (a as { value: string }).value;
      if (v.includes('{{')) ctx.issues.push({ code: 'argo.template', path: `${path}/command`, message: `literal argument ${JSON.stringify(v)} contains "{{", which Argo would read as a template expression`, hint: 'pass the text as an input of the component instead' });
      return v;
    },
    inputValue: (a) => `{{inputs.parameters.${argoParamName((a as { input: string }).input)}}}`,
    inputPath: (a) => {
      const name = (a as { input: string }).input;
      const spec = comp.inputs[name];
      // A parameter read from a file: Argo writes the value as a raw artifact.
      if (spec?.kind === 'parameter' && !rawArtifacts.some((r) => r.name === `${argoParamName(name)}-file`)) {
        rawArtifacts.push({ name: `${argoParamName(name)}-file`, path: `${INPUTS_DIR}/${name}`, raw: { data: `{{inputs.parameters.${argoParamName(name)}}}` } });
      }
      return `${INPUTS_DIR}/${name}`;
    },
    outputPath: (a) => {
      const name = (a as { output: string }).output;
      return comp.outputs[name]?.kind === 'artifact' ? `${OUTPUTS_DIR}/artifacts/${name}` : `${OUTPUTS_DIR}/parameters/${name}`;
    },
    concat: (a) => (a as { parts: readonly ArgIR[] }).parts.map((p) => lower[p.kind](p)).join(''),
  };
  const command = comp.command.map((a) => lower[a.kind](a));
  io.arts.push(...rawArtifacts);
  const image = o.image ?? comp.image;
  return assemble(io, o, comp, hash, ctx, io.params, image, command, undefined, leaf);
}

function assemble(io: ReturnType<typeof ioLists>, o: TaskOptionsIR, comp: ComponentIR, hash: string, ctx: TemplateContext, params: ArgoObject[], image: string, command: string[], args: string[] | undefined, leaf: LeafPlan): ArgoObject {
  const f = optionFields(o, comp, hash, [...io.paramNames.map((n) => argoParamName(n)), ...io.cacheParams], leaf.mode, ctx);
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
export function leafTemplateFor(task: TaskIR, hash: string, comp: FunctionComponentIR | ContainerComponentIR, path: string, ctx: TemplateContext, collected: ReadonlyMap<string, string> = new Map()): string {
  const inputNames = Object.keys(task.inputs);
  const collectedText = collected.size ? [...collected].map(([o, p]) => `${o}>${p}`).join(',') : '';
  const quick = `${hash}|${inputNames.join(',')}|${Object.keys(task.options).length ? canonicalJson(task.options) : ''}|${collectedText}`;
  const memo = ctx.byTaskKey.get(quick);
  if (memo !== undefined) return memo;
  const o = effectiveTaskOptions(ctx.ir.options, comp, task);
  checkNoTemplates(o, `${path}/options`, ctx.issues);
  const given = new Set(inputNames);
  const key = `${hash}|${[...given].sort().join(',')}|${canonicalJson(o)}|${collectedText}`;
  let entry = ctx.leaf.get(key);
  if (!entry) {
    const leaf: LeafPlan = { collected, mode: cacheMode(o, collected.size > 0) };
    const template = (LEAF[comp.kind] as LeafBuilder<typeof comp>)(comp, hash, o, given, ctx, path, leaf);
    const name = ctx.names.take(comp.name);
    template.name = name;
    entry = { name, template };
    ctx.leaf.set(key, entry);
  }
  ctx.byTaskKey.set(quick, entry.name);
  return entry.name;
}
