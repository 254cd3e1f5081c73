/**
 * The cache rule, once.
 *
 * - **Default: on.** A task whose options say nothing about caching is cached, locally and on Argo
 *   (as in Kubeflow Pipelines, whose steps are cached unless told otherwise): an ML step with the
 *   same code and inputs gives the same outputs, and re-running it costs GPU hours. The SDK writes
 *   the decided value into the IR (`options.taskDefaults.cache`), so the IR says what a run will
 *   do; a hand-made IR without it gets the same default from {@link cachePolicy}.
 * - **What the key covers**: the component (function: its code hash; container: image and command),
 *   every input parameter's canonical JSON, every input artifact's content (locally its sha256; on
 *   Argo the producer's own memoize key, or the run's uid when there is none), and `cache.version`.
 *   A custom `cache.key` replaces the inputs part. The task id is not part of the key.
 * - **maxAge**: an entry older than this is not used (Argo `memoize.maxAge`).
 */
import type { CacheIR, ComponentIR, TaskOptionsIR } from '../ir.ts';
import { parseDurationMs } from './duration.ts';
import { canonicalJson, sha256 } from './json.ts';

/** The cache setting of a task whose options do not set one. */
export const CACHE_DEFAULT: CacheIR = Object.freeze({ enabled: true });

/** The cache setting a task runs with (its effective options' `cache`, else {@link CACHE_DEFAULT}). */
export function cachePolicy(o: TaskOptionsIR): CacheIR {
  return o.cache ?? CACHE_DEFAULT;
}

/** Whether an entry created at `createdAtMs` may serve a task at `nowMs` under `policy.maxAge`. */
export function cacheEntryFresh(policy: CacheIR, createdAtMs: number, nowMs: number): boolean {
  return policy.maxAge === undefined || nowMs - createdAtMs <= parseDurationMs(policy.maxAge);
}

/**
 * What a cache key says of the step itself: a function component by its code hash (`code:<hash>`),
 * a container by its image and command (`image:<sha256>`). Its name, description and schemas are
 * not part of it.
 */
export function componentIdentity(c: ComponentIR): string {
  if (c.kind === 'function') return `code:${c.codeHash}`;
  if (c.kind === 'container') return `image:${sha256(canonicalJson({ image: c.image, command: c.command }))}`;
  return `pipeline:${sha256(canonicalJson(c))}`;
}

/**
 * The parts of a task's cache key known before it runs: everything but its input values. Both
 * sides build the key from it: the engine adds each input's canonical JSON or content hash
 * (`engine/cache.ts`); the compiler hashes it into Argo's `memoize.key` ({@link argoMemoKeyPrefix})
 * and adds a digest of the input parameters, evaluated by Argo. A custom `cache.key` replaces the
 * inputs and the code part; `code` (the hash of the pipeline's bundled module graph) is part of a
 * function step's key only.
 */
export interface CacheIdentity {
  readonly component: string;
  readonly version: string;
  readonly custom?: string;
  readonly code?: string;
}

/** {@link CacheIdentity} of a task of `component` under `policy`; `code` is the bundle hash of the pipeline's module graph, when known. */
export function cacheIdentity(component: ComponentIR, policy: CacheIR, code?: string): CacheIdentity {
  const base = { component: componentIdentity(component), version: policy.version ?? '' };
  if (policy.key !== undefined) return { ...base, custom: policy.key };
  return code !== undefined && component.kind === 'function' ? { ...base, code } : base;
}

/**
 * Argo's memoization cache (workflow-controller v4, `controller/cache`) accepts a key only when it
 * matches this (no `.`, `_` or `/`) and stores it as a ConfigMap data key (at most 253 characters).
 */
export const ARGO_MEMO_KEY = /^[a-zA-Z0-9][-a-zA-Z0-9]*$/;
export const ARGO_MEMO_KEY_MAX = 253;

/**
 * The fixed part of a task's Argo `memoize.key`: 32 hex digits of the sha256 of its
 * {@link CacheIdentity}, so any version or custom key text gives a valid key; the compiler appends
 * `-<sha256 of the input parameters>` when the inputs are part of the key.
 */
export function argoMemoKeyPrefix(identity: CacheIdentity): string {
  return sha256(canonicalJson({ argo: 1, ...identity })).slice(0, 32);
}
