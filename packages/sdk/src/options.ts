/**
 * Loose option input, parsed once at the edge into the IR's normal form (`parseX` functions).
 * The rest of the code never branches on input shape.
 */
import type {
  SynchronizationIR,
  CacheIR, ImagePullPolicy, PipelineOptionsIR, PodGCStrategy, ResourcesIR, RetryIR, RetryOn, TaskOptionsIR, TolerationIR, VolumeIR,
  JsonObject,
} from './ir.ts';

/** A duration: `'10s'`, `'5m'`, `'1h30m'`, `'250ms'`, or a number of seconds. */
export type Duration = string | number;

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses a duration into seconds; `undefined` when malformed.
 *
 * @example
 * parseDuration('1h30m') // 5400
 */
export function parseDuration(d: Duration): number | undefined {
  if (typeof d === 'number') return Number.isFinite(d) && d >= 0 ? d : undefined;
  const s = d.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return total;
}

/** Normalises a duration to Argo's string form (`'90s'`); keeps valid strings as given. */
export function durationString(d: Duration): string {
  return typeof d === 'number' ? `${d}s` : d.trim();
}

const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkKMGTPE]|[eE][+-]?\d+)?$/;

/** True for a Kubernetes resource quantity such as `500m`, `2`, `4Gi`, `1e3`. */
export function isQuantity(q: string): boolean {
  return QUANTITY.test(q);
}

/** Retry policy as users write it. */
export interface RetryOptions {
  /** Retries after the first attempt. */
  limit: number;
  /**
   * Which failures retry: `'always'` (default), `'failure'` (the step threw or exited non-zero),
   * `'error'` (crash, signal, OOM, preemption) or `'transient'`.
   * @default 'always'
   */
  on?: RetryOn;
  backoff?: { duration: Duration; factor?: number; max?: Duration; jitter?: number };
}

/** Cache options as users write them; `true`/`false` switch it on/off. */
export type CacheOptions = boolean | { enabled?: boolean; version?: string; key?: string; maxAge?: Duration };

/** Resource requests as users write them. `gpu: 1` or `gpu: { count: 2, type: 'nvidia-h100-80gb' }`. */
export interface ResourceOptions {
  cpu?: string | number;
  memory?: string;
  ephemeralStorage?: string;
  gpu?: number | { count: number; type?: string };
}

/** Every option a task (or a component's defaults, or a pipeline's task defaults) can carry. */
export interface TaskOptions {
  displayName?: string;
  retry?: RetryOptions;
  cache?: CacheOptions;
  timeout?: Duration;
  resources?: ResourceOptions;
  env?: Record<string, string>;
  /** `{ TOKEN: { secret: 'hf', key: 'token' } }`: read from a Kubernetes secret at run time. */
  secretEnv?: Record<string, { secret: string; key: string }>;
  configMapEnv?: Record<string, { configMap: string; key: string }>;
  volumes?: VolumeIR[];
  nodeSelector?: Record<string, string>;
  tolerations?: TolerationIR[];
  affinity?: JsonObject;
  image?: string;
  imagePullPolicy?: ImagePullPolicy;
  serviceAccount?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /**
   * Mutual exclusion across runs: `{ mutexes: ['gpu-node-a'] }` or
   * `{ semaphores: [{ configMap: 'limits', key: 'trainers' }] }`.
   */
  synchronization?: SynchronizationOptions;
}

/** Mutexes by name, semaphores sized by a config map key. */
export interface SynchronizationOptions {
  mutexes?: string[];
  semaphores?: { configMap: string; key: string }[];
}

export function parseSynchronization(s: SynchronizationOptions): SynchronizationIR {
  const out: { mutexes?: string[]; semaphores?: { configMap: string; key: string }[] } = {};
  if (s.mutexes?.length) out.mutexes = [...new Set(s.mutexes)].sort();
  if (s.semaphores?.length) out.semaphores = [...s.semaphores].sort((a, b) => `${a.configMap}/${a.key}`.localeCompare(`${b.configMap}/${b.key}`));
  return out;
}

function sorted<V>(r: Record<string, V> | undefined): Record<string, V> | undefined {
  if (!r) return undefined;
  const out: Record<string, V> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k]!;
  return out;
}

function put<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
}

export function parseRetry(r: RetryOptions): RetryIR {
  const out: { -readonly [K in keyof RetryIR]: RetryIR[K] } = { limit: r.limit, on: r.on ?? 'always' };
  if (r.backoff) {
    const b: { duration: string; factor?: number; maxDuration?: string; jitter?: number } = { duration: durationString(r.backoff.duration) };
    put(b, 'factor', r.backoff.factor);
    if (r.backoff.max !== undefined) b.maxDuration = durationString(r.backoff.max);
    put(b, 'jitter', r.backoff.jitter);
    out.backoff = b;
  }
  return out;
}

export function parseCache(c: CacheOptions): CacheIR {
  if (typeof c === 'boolean') return { enabled: c };
  const out: { -readonly [K in keyof CacheIR]: CacheIR[K] } = { enabled: c.enabled ?? true };
  put(out, 'version', c.version);
  put(out, 'key', c.key);
  if (c.maxAge !== undefined) out.maxAge = durationString(c.maxAge);
  return out;
}

export function parseResources(r: ResourceOptions): ResourcesIR {
  const out: { -readonly [K in keyof ResourcesIR]: ResourcesIR[K] } = {};
  if (r.cpu !== undefined) out.cpu = String(r.cpu);
  put(out, 'memory', r.memory);
  put(out, 'ephemeralStorage', r.ephemeralStorage);
  if (r.gpu !== undefined) out.gpu = typeof r.gpu === 'number' ? { count: r.gpu } : { count: r.gpu.count, ...(r.gpu.type ? { type: r.gpu.type } : {}) };
  return out;
}

/**
 * Parses task options into IR form. A malformed duration is kept as NaN seconds so that
 * validation reports it with its path instead of throwing here.
 */
export function parseTaskOptions(o: TaskOptions): TaskOptionsIR {
  const out: { -readonly [K in keyof TaskOptionsIR]: TaskOptionsIR[K] } = {};
  put(out, 'displayName', o.displayName);
  if (o.retry) out.retry = parseRetry(o.retry);
  if (o.cache !== undefined) out.cache = parseCache(o.cache);
  if (o.timeout !== undefined) out.timeoutSeconds = parseDuration(o.timeout) ?? Number.NaN;
  if (o.resources) out.resources = parseResources(o.resources);
  put(out, 'env', sorted(o.env));
  put(out, 'secretEnv', sorted(o.secretEnv));
  put(out, 'configMapEnv', sorted(o.configMapEnv));
  if (o.volumes) out.volumes = [...o.volumes];
  put(out, 'nodeSelector', sorted(o.nodeSelector));
  if (o.tolerations) out.tolerations = [...o.tolerations];
  put(out, 'affinity', o.affinity);
  put(out, 'image', o.image);
  put(out, 'imagePullPolicy', o.imagePullPolicy);
  put(out, 'serviceAccount', o.serviceAccount);
  put(out, 'labels', sorted(o.labels));
  put(out, 'annotations', sorted(o.annotations));
  if (o.synchronization) out.synchronization = parseSynchronization(o.synchronization);
  return out;
}

/**
 * Merges option layers: later layers win per field; maps (env, labels, ...) and resources merge
 * by key. The one definition of how defaults combine, used by the compiler and the local runner.
 *
 * @example
 * mergeTaskOptions({ env: { A: '1' }, resources: { cpu: '1' } }, { env: { B: '2' }, resources: { gpu: { count: 1 } } })
 * // { env: { A: '1', B: '2' }, resources: { cpu: '1', gpu: { count: 1 } } }
 */
export function mergeTaskOptions(...layers: (TaskOptionsIR | undefined)[]): TaskOptionsIR {
  const out: Record<string, unknown> = {};
  const MAPS = new Set(['env', 'secretEnv', 'configMapEnv', 'nodeSelector', 'labels', 'annotations']);
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      if (MAPS.has(k)) out[k] = sorted({ ...(out[k] as Record<string, unknown> | undefined), ...(v as Record<string, unknown>) });
      else if (k === 'resources') out[k] = { ...(out[k] as object | undefined), ...(v as object) };
      else out[k] = v;
    }
  }
  return out as TaskOptionsIR;
}

/** Pipeline-level options as users write them (in the `pipeline(config, ...)` config). */
export interface PipelineOptions {
  /** Image for function components: one holding your project and `@sluice/runner`. */
  image?: string;
  namespace?: string;
  serviceAccount?: string;
  /** Delete the Workflow this long after it finishes. */
  ttl?: Duration;
  podGC?: PodGCStrategy;
  /** Max pods at once. */
  parallelism?: number;
  /** Whole-run deadline. */
  deadline?: Duration;
  artifactRepositoryRef?: { configMap: string; key: string };
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Whole-run mutexes and semaphores. */
  synchronization?: SynchronizationOptions;
  /** Options every task starts from. */
  taskDefaults?: TaskOptions;
}

/**
 * The options a task runs with: the pipeline's task defaults, then its component's defaults, then
 * its own options.
 */
export function effectiveTaskOptions(
  pipelineOptions: PipelineOptionsIR,
  component: { readonly defaults: TaskOptionsIR } | undefined,
  task: { readonly options: TaskOptionsIR },
): TaskOptionsIR {
  return mergeTaskOptions(pipelineOptions.taskDefaults, component?.defaults, task.options);
}

export function parsePipelineOptions(o: PipelineOptions): PipelineOptionsIR {
  const out: { -readonly [K in keyof PipelineOptionsIR]: PipelineOptionsIR[K] } = {};
  put(out, 'image', o.image);
  put(out, 'namespace', o.namespace);
  put(out, 'serviceAccount', o.serviceAccount);
  if (o.ttl !== undefined) out.ttlSeconds = parseDuration(o.ttl) ?? Number.NaN;
  put(out, 'podGC', o.podGC);
  put(out, 'parallelism', o.parallelism);
  if (o.deadline !== undefined) out.deadlineSeconds = parseDuration(o.deadline) ?? Number.NaN;
  put(out, 'artifactRepositoryRef', o.artifactRepositoryRef);
  put(out, 'labels', sorted(o.labels));
  put(out, 'annotations', sorted(o.annotations));
  if (o.synchronization) out.synchronization = parseSynchronization(o.synchronization);
  if (o.taskDefaults) out.taskDefaults = parseTaskOptions(o.taskDefaults);
  return out;
}
