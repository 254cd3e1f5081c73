/**
 * The retry rule is the SDK's (`@sluice/sdk` semantics: one budget of `limit` retries, which
 * failures `on` retries, exit codes 2 and 3 never, backoff with a per-wait `cap` and a total
 * `maxDuration`). The engine's names for it, kept for the runner's public API.
 */
export { shouldRetry, localBackoffMs as backoffMs } from '@sluice/sdk';
export type { FailureKind, RetryTiming } from '@sluice/sdk';
