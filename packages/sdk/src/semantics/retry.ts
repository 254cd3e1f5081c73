/**
 * The retry rule, once, for the local engine and for Argo's `retryStrategy`.
 *
 * - **One budget.** `limit` is the number of retries after the first attempt, whatever failed:
 *   `limit: 3` means at most 4 attempts. Argo counts the same way (`limit + 1` attempts).
 * - **Which failures retry** is `on` (Argo's `retryPolicy`); see {@link retriesKind}.
 * - **Never retried**: invalid inputs (executor exit 2) and `NonRetryableError` (exit 3). On Argo
 *   the compiled `retryStrategy.expression` says so (`lastRetry.exitCode not in ['2', '3']`; Argo
 *   evaluates it with `lastRetry.exitCode` as text, `-1` when the pod has none).
 * - **Backoff**: the wait before retry `n` (1 for the first) is `duration × factor^(n-1)`, at most
 *   `cap` (Argo `backoff.cap`, v3.6+/v4). `maxDuration` (Argo `backoff.maxDuration`) caps the total:
 *   no retry starts when the first attempt's start plus `maxDuration` has passed, or would pass
 *   during the wait. `factor` is a whole number (Argo reads it as an integer).
 * - `jitter` is applied by the local engine only (Argo has no jitter); it only ever adds wait.
 */
import type { RetryIR, RetryOn } from '../ir.ts';
import { argoDuration, parseDurationMs } from './duration.ts';
import { EXIT } from './contract.ts';

/**
 * Why an attempt failed.
 * - `user`: the step threw, exited 1, or ran past its timeout (Argo: the node `Failed`).
 * - `system`: its process died (signal, out of memory, unexpected exit code) or could not start.
 * - `preempted`: it was terminated from outside (SIGTERM) and given its grace period.
 * - `invalid`: its inputs did not validate (exit 2). Never retried.
 * - `nonretryable`: it threw `NonRetryableError` (exit 3). Never retried.
 */
export type FailureKind = 'user' | 'system' | 'preempted' | 'invalid' | 'nonretryable';

/** Exit codes of the executor that no retry policy retries. */
export const NEVER_RETRIED_EXIT_CODES: readonly number[] = [EXIT.invalid, EXIT.nonretryable];

const RETRIED: Readonly<Record<RetryOn, ReadonlySet<FailureKind>>> = {
  always: new Set(['user', 'system', 'preempted']),
  failure: new Set(['user']),
  error: new Set(['system', 'preempted']),
  transient: new Set(['preempted']),
};

/**
 * Whether policy `on` retries a failure of this kind:
 *
 * | `on` (Argo `retryPolicy`)          | user failures | system failures | preemption |
 * |------------------------------------|---------------|-----------------|------------|
 * | `always` (`Always`)                | yes           | yes             | yes        |
 * | `failure` (`OnFailure`)            | yes           | no              | no         |
 * | `error` (`OnError`)                | no            | yes             | yes        |
 * | `transient` (`OnTransientError`)   | no            | no              | yes        |
 */
export function retriesKind(on: RetryOn, kind: FailureKind): boolean {
  return RETRIED[on].has(kind);
}

/** Times that bound a retry by the total cap (`maxDuration`), in ms since the epoch. */
export interface RetryTiming {
  /** When the task's first attempt started. */
  readonly firstStartMs: number;
  /** When the failed attempt finished (now). */
  readonly nowMs: number;
}

/**
 * Whether a failed attempt is retried, given the retries already spent (on any kind of failure).
 *
 * @example
 * shouldRetry({ limit: 3, on: 'always' }, 3, 'user') // false: 4 attempts ran
 */
export function shouldRetry(policy: RetryIR | undefined, spent: number, kind: FailureKind, timing?: RetryTiming): boolean {
  if (!policy || kind === 'invalid' || kind === 'nonretryable') return false;
  if (spent >= policy.limit || !retriesKind(policy.on, kind)) return false;
  const total = policy.backoff?.maxDuration;
  if (total !== undefined && timing) {
    const deadline = timing.firstStartMs + parseDurationMs(total);
    if (timing.nowMs > deadline || timing.nowMs + backoffWaitMs(policy, spent + 1) > deadline) return false;
  }
  return true;
}

/**
 * The wait before retry number `retry` (1 for the first), without jitter: `duration × factor^(retry-1)`,
 * at most `cap`.
 *
 * @example
 * backoffWaitMs({ limit: 5, on: 'always', backoff: { duration: '10s', factor: 2, cap: '30s' } }, 3) // 30000
 */
export function backoffWaitMs(policy: RetryIR | undefined, retry: number): number {
  const b = policy?.backoff;
  if (!b) return 0;
  let ms = parseDurationMs(b.duration) * Math.pow(b.factor ?? 1, Math.max(0, retry - 1));
  if (b.cap !== undefined) ms = Math.min(ms, parseDurationMs(b.cap));
  return Math.round(ms);
}

/** The local wait: {@link backoffWaitMs} plus up to `jitter` of it at random (local runs only). */
export function localBackoffMs(policy: RetryIR | undefined, retry: number, random: () => number = Math.random): number {
  const ms = backoffWaitMs(policy, retry);
  const j = policy?.backoff?.jitter;
  return j ? Math.round(ms + ms * Math.min(1, Math.max(0, j)) * random()) : ms;
}

const RETRY_POLICY: Readonly<Record<RetryOn, string>> = { always: 'Always', failure: 'OnFailure', error: 'OnError', transient: 'OnTransientError' };

/** The `retryStrategy.expression` that keeps Argo from retrying exit codes 2 and 3. */
export const ARGO_RETRY_EXPRESSION = `lastRetry.exitCode not in [${NEVER_RETRIED_EXIT_CODES.map((c) => `'${c}'`).join(', ')}]`;

/** Argo's `retryStrategy` for a policy; `undefined` when there is nothing to retry. */
export function argoRetryStrategy(policy: RetryIR | undefined): { [key: string]: unknown } | undefined {
  if (!policy || policy.limit <= 0) return undefined;
  const b = policy.backoff;
  return {
    limit: policy.limit,
    retryPolicy: RETRY_POLICY[policy.on],
    expression: ARGO_RETRY_EXPRESSION,
    backoff: b
      ? {
          duration: argoDuration(b.duration),
          factor: b.factor,
          cap: b.cap === undefined ? undefined : argoDuration(b.cap),
          maxDuration: b.maxDuration === undefined ? undefined : argoDuration(b.maxDuration),
        }
      : undefined,
  };
}
