import type { RetryIR } from '@sluice/sdk';
import { parseDurationMs } from '../util/duration.ts';

/**
 * Why an attempt failed.
 * - `user`: the step threw, exited 1, or ran past its timeout.
 * - `system`: its process died (signal, out of memory, unexpected exit code) or could not start.
 * - `preempted`: it was terminated from outside (SIGTERM) and given its grace period.
 * - `invalid`: its inputs did not validate. Never retried.
 * - `nonretryable`: it threw `NonRetryableError`. Never retried.
 */
export type FailureKind = 'user' | 'system' | 'preempted' | 'invalid' | 'nonretryable';

export interface FailureCounts {
  /** Retries already spent on user failures. */
  user: number;
  /** Retries already spent on system failures (including preemption). */
  system: number;
}

/**
 * Whether a failed attempt is retried. User and system failures have separate budgets of `limit`
 * retries each, opened by `on`:
 *
 * | `on` (Argo `retryPolicy`)          | user failures | system failures | preemption |
 * |------------------------------------|---------------|-----------------|------------|
 * | `always` (`Always`)                | yes           | yes             | yes        |
 * | `failure` (`OnFailure`)            | yes           | no              | no         |
 * | `error` (`OnError`)                | no            | yes             | yes        |
 * | `transient` (`OnTransientError`)   | no            | no              | yes        |
 *
 * Argo counts one `limit` for every failure under `Always`; the local runner keeps two.
 */
export function shouldRetry(policy: RetryIR | undefined, spent: FailureCounts, kind: FailureKind): boolean {
  if (!policy || kind === 'invalid' || kind === 'nonretryable') return false;
  const on = policy.on;
  if (kind === 'user') return (on === 'always' || on === 'failure') && spent.user < policy.limit;
  if (kind === 'system') return (on === 'always' || on === 'error') && spent.system < policy.limit;
  return on !== 'failure' && spent.system < policy.limit;
}

/**
 * Wait before retry number `retry` (1 for the first retry): `duration × factor^(retry-1)`, capped at
 * `maxDuration`, plus up to `jitter` of that at random. Argo: `backoff.duration`, `backoff.factor`;
 * Argo reads `maxDuration` as a cap on the total time spent retrying and ignores `jitter`.
 */
export function backoffMs(policy: RetryIR | undefined, retry: number, random: () => number = Math.random): number {
  const b = policy?.backoff;
  if (!b) return 0;
  let ms = parseDurationMs(b.duration) * Math.pow(b.factor ?? 1, Math.max(0, retry - 1));
  if (b.maxDuration !== undefined) ms = Math.min(ms, parseDurationMs(b.maxDuration));
  if (b.jitter) ms += ms * Math.min(1, Math.max(0, b.jitter)) * random();
  return Math.round(ms);
}
