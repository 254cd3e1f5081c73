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
export { parseDuration, isQuantity, mergeTaskOptions, effectiveTaskOptions } from './options.ts';
export type { TaskOptions, RetryOptions, CacheOptions, ResourceOptions, PipelineOptions, SynchronizationOptions, Duration } from './options.ts';
export { canonicalJson, contentHash, sha256 } from './hash.ts';
export type * from './ir.ts';
export { IR_VERSION } from './ir.ts';
export type * from './runtime.ts';
