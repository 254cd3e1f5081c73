/**
 * Loose option input, parsed once at the edge into the IR's normal form (`parseX` functions).
 * The rest of the code never branches on input shape.
 */
import type {
  SynchronizationIR,
  CacheIR, ImagePullPolicy, PipelineOptionsIR, PodGCStrategy, ResourcesIR, RetryIR, RetryOn, TaskOptionsIR, TolerationIR, VolumeIR,
  JsonObject, TrackingArtifactsIR, TrackingIR,
} from './ir.ts';

import { durationString, parseDuration, type Duration } from './semantics/duration.ts';
import { CACHE_DEFAULT } from './semantics/cache.ts';

export { parseDuration, durationString, type Duration };
export { mergeTaskOptions, effectiveTaskOptions } from './semantics/merge.ts';

const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkKMGTPE]|[eE][+-]?\d+)?$/;

/** True for a Kubernetes resource quantity such as `500m`, `2`, `4Gi`, `1e3`. */
export function isQuantity(q: string): boolean {
  return QUANTITY.test(q);
}

/** Retry policy as users write it. */
export interface RetryOptions {
  /** Retries after the first attempt, one budget for every kind of failure: `limit: 3` is at most 4 attempts, locally and on Argo. */
  limit: number;
  /**
   * Which failures retry: `'always'` (default), `'failure'` (the step threw or exited non-zero),
   * `'error'` (crash, signal, OOM, preemption) or `'transient'`.
   * @default 'always'
   */
  on?: RetryOn;
  backoff?: {
    /** The first wait. */
    duration: Duration;
    /** Each wait is the previous one times this (a whole number; Argo reads it as an integer). @default 1 */
    factor?: number;
    /** Cap on each single wait (Argo `backoff.cap`). */
    max?: Duration;
    /** Cap on the total time from the first attempt's start: no retry starts after it (Argo `backoff.maxDuration`). */
    maxTotal?: Duration;
    /** Random extra wait, a fraction (0..1) of each wait. Local runs only: Argo has no jitter. */
    jitter?: number;
  };
}

/** Cache options as users write them; `true`/`false` switch it on/off. */
export type CacheOptions = boolean | { enabled?: boolean; version?: string; key?: string; maxAge?: Duration };

/**
 * Resource requests as users write them. `gpu: 1` or `gpu: { count: 2, type: 'nvidia-h100-80gb' }`;
 * `gpu: { count: 1, localFallback: 'cpu' }` also runs locally on a machine without the GPUs (on
 * CPU, with a warning recorded in the run); on Argo the pod requests the GPU all the same.
 */
export interface ResourceOptions {
  cpu?: string | number;
  memory?: string;
  ephemeralStorage?: string;
  gpu?: number | GpuOptions;
}

/** A GPU request as users write it. */
export interface GpuOptions {
  count: number;
  type?: string;
  /**
   * What a local run does when this machine has fewer GPUs (of `type`) than `count`: `'cpu'` runs
   * the step without GPUs (`ctx.gpus` empty) and records a warning in the run; without it the run
   * is refused before anything starts. Local runs only: the compiled pod requests the GPUs.
   */
  localFallback?: 'cpu';
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
    const b: { duration: string; factor?: number; cap?: string; maxDuration?: string; jitter?: number } = { duration: durationString(r.backoff.duration) };
    put(b, 'factor', r.backoff.factor);
    if (r.backoff.max !== undefined) b.cap = durationString(r.backoff.max);
    if (r.backoff.maxTotal !== undefined) b.maxDuration = durationString(r.backoff.maxTotal);
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
  if (r.gpu !== undefined) out.gpu = typeof r.gpu === 'number' ? { count: r.gpu } : { count: r.gpu.count, ...(r.gpu.type ? { type: r.gpu.type } : {}), ...(r.gpu.localFallback !== undefined ? { localFallback: r.gpu.localFallback } : {}) };
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
  /**
   * Experiment tracking on an MLflow server, the same for local runs and pods. `sluice run`
   * flags and the environment override it (see `semantics/tracking.ts` for the order).
   *
   * @example
   * tracking: { uri: 'https://mlflow.example.com', experiment: 'iris', required: true, token: { secret: 'mlflow', key: 'token' }, artifacts: 'models' }
   */
  tracking?: PipelineTrackingOptions;
}

/** A pipeline's tracking settings as users write them. */
export interface PipelineTrackingOptions {
  /** `http(s)://host:port` of an MLflow server, or `'embedded'` (the run store only). */
  uri?: string;
  /** MLflow experiment. @default the pipeline's name */
  experiment?: string;
  /** Refuse to start a run when the server cannot be reached (otherwise: buffer and warn). @default false */
  required?: boolean;
  /** Kubernetes secret holding the bearer token, read into `MLFLOW_TRACKING_TOKEN` in pods (locally: your environment's `MLFLOW_TRACKING_TOKEN`). */
  token?: { secret: string; key: string };
  /**
   * Which output artifacts are uploaded to the MLflow run's artifact store (always: their URI and
   * content hash as tags). `'models'`: artifacts of type `Model`; `'all'`: every output artifact.
   * @default 'none'
   */
  artifacts?: TrackingArtifactsIR;
}

export function parseTrackingOptions(t: PipelineTrackingOptions): TrackingIR {
  const out: { -readonly [K in keyof TrackingIR]: TrackingIR[K] } = {};
  put(out, 'uri', t.uri);
  put(out, 'experiment', t.experiment);
  put(out, 'required', t.required);
  if (t.token !== undefined) out.token = t.token && typeof t.token === 'object' ? { secret: t.token.secret, key: t.token.key } : t.token;
  put(out, 'artifacts', t.artifacts);
  return out;
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
  if (o.tracking) out.tracking = parseTrackingOptions(o.tracking);
  // The cache default is decided once (semantics/cache.ts) and written into the IR, so the IR says what runs do.
  out.taskDefaults = { cache: CACHE_DEFAULT, ...(o.taskDefaults ? parseTaskOptions(o.taskDefaults) : {}) };
  return out;
}
