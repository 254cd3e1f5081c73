/**
 * @sluice/sdk: typed components, artifacts and pipelines. Everything public is exported here.
 */
export { component, containerComponent, isComponent } from './component.ts';
export type { Component, FunctionComponentConfig, ContainerComponentConfig, CommandIO, Placeholder } from './component.ts';
export { pipeline, toIR, functionRuntimes, parsePipelineParams, isPipeline } from './pipeline.ts';
export type { Pipeline, PipelineConfig, PipelineBuilder, When, Branches, Loop, ForEachOptions, ParamRefs, FunctionRuntime } from './pipeline.ts';
export type { Task, NodeHandle } from './builder.ts';
export { Dataset, Model, Metrics, Artifact, artifactType, listOf, isArtifactType } from './artifacts.ts';
export type { ArtifactType, ArtifactListType } from './artifacts.ts';
export { and, or, not, isRef } from './refs.ts';
export type { ParamRef, ArtifactRef, ArtifactListRef, Condition, AnyRef } from './refs.ts';
export type { IOShape, IOType } from './schema.ts';
export type { TaskArgs, TaskOutputs, InputValue, OutputRef, RunInputs, RunResult, OutputHandles, OutputRefShape } from './types.ts';
export { validatePipelineIR, specMismatch } from './validate.ts';
export { isValidatedIR, markValidated } from './validated.ts';
export { SluiceValidationError, NonRetryableError, isNonRetryable, formatIssues } from './errors.ts';
export type { SluiceIssue } from './errors.ts';
export { isQuantity } from './options.ts';
export type { TaskOptions, RetryOptions, CacheOptions, ResourceOptions, GpuOptions, PipelineOptions, SynchronizationOptions, PipelineTrackingOptions } from './options.ts';
export {
  parseDuration, parseDurationMs, durationString, argoDuration,
  canonicalJson, sha256, contentHash,
  shouldRetry, retriesKind, backoffWaitMs, localBackoffMs, argoRetryStrategy, ARGO_RETRY_EXPRESSION, NEVER_RETRIED_EXIT_CODES,
  CACHE_DEFAULT, cachePolicy, cacheEntryFresh, componentIdentity, cacheIdentity, argoMemoKeyPrefix, ARGO_MEMO_KEY, ARGO_MEMO_KEY_MAX,
  compareAs, compareMode, compareValues, compareText, compareNumber, literalType,
  mergeTaskOptions, mergeSynchronization, effectiveTaskOptions,
  TASK_ID, taskIdProblem, dnsLabel, isDnsLabel, isImageReference, argoParamName, shortHash,
  EXIT, EXEC_FLAG, POD_PATHS, OUTPUT_LAYOUT, literalNeedsEncoding, encodeBase64, decodeBase64, paramText, parseParamText, taskIdFromNodeName,
  renderArgv, kubeEscape,
  GPU_PRODUCT_LABEL, gpuProductLabel, gpuTypeProblem,
  TRACKING_ENV, TRACKING_ARTIFACTS, isEmbeddedUri, trackingUriProblem, redactUri, parseRequiredText, copiesArtifact, trackingOptionIssues, trackingPodEnv,
} from './semantics/index.ts';
export type { Duration, FailureKind, RetryTiming, CompareAs, ArgvSpelling, CacheIdentity } from './semantics/index.ts';
export type * from './ir.ts';
export { IR_VERSION } from './ir.ts';
export type * from './runtime.ts';
// what a run reports and what a run backend returns: one vocabulary for the runner, the cluster backend and their readers
export { RUN_EVENT_TYPES, eventKey, eventFields } from './run/events.ts';
export type * from './run/events.ts';
export type * from './run/views.ts';
