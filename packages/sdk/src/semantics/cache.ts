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
import type { CacheIR, TaskOptionsIR } from '../ir.ts';
import { parseDurationMs } from './duration.ts';

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
