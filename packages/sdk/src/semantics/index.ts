/**
 * The one home of meanings the compiler and the local engine (and the executor) share. Each rule
 * is written once here and imported by both sides; the parity table
 * (`packages/runner/test/parity/semantics.test.ts`) pins that they agree.
 */
export { parseDuration, parseDurationMs, durationString, argoDuration } from './duration.ts';
export type { Duration } from './duration.ts';
export { canonicalJson, sha256, contentHash } from './json.ts';
export { shouldRetry, retriesKind, backoffWaitMs, localBackoffMs, argoRetryStrategy, ARGO_RETRY_EXPRESSION, NEVER_RETRIED_EXIT_CODES } from './retry.ts';
export type { FailureKind, RetryTiming } from './retry.ts';
export { CACHE_DEFAULT, cachePolicy, cacheEntryFresh, componentIdentity, cacheIdentity, argoMemoKeyPrefix, ARGO_MEMO_KEY, ARGO_MEMO_KEY_MAX } from './cache.ts';
export type { CacheIdentity } from './cache.ts';
export { compareAs, compareMode, compareValues, compareText, compareNumber, literalType } from './compare.ts';
export type { CompareAs } from './compare.ts';
export { mergeTaskOptions, mergeSynchronization, effectiveTaskOptions } from './merge.ts';
export { TASK_ID, taskIdProblem, dnsLabel, isDnsLabel, isImageReference, argoParamName, shortHash } from './names.ts';
export {
  EXIT, EXEC_FLAG, POD_PATHS, OUTPUT_LAYOUT, literalNeedsEncoding, encodeBase64, decodeBase64, paramText, parseParamText, taskIdFromNodeName,
} from './contract.ts';
export { renderArgv, kubeEscape } from './argv.ts';
export type { ArgvSpelling } from './argv.ts';
export { GPU_PRODUCT_LABEL, gpuProductLabel, gpuTypeProblem } from './gpu.ts';
export { TRACKING_ENV, TRACKING_ARTIFACTS, isEmbeddedUri, trackingUriProblem, redactUri, parseRequiredText, copiesArtifact, trackingOptionIssues, trackingPodEnv } from './tracking.ts';
