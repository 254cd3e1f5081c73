/**
 * `@sluice/runner`: runs Sluice pipelines on this machine with durable state, and the executor
 * (`sluice exec`) that runs each function step, locally and in Argo pods.
 */
export { runPipeline, storePaths, ParamsError } from './run.ts';
export type { RunOptions, RunResult, TaskSummary, RunEvent } from './run.ts';
export type { ArtifactRef, RuntimeValue, FunctionRuntime, LoadedPipeline } from './engine/types.ts';
export { loadPipelineFile, importPipelineFile } from '@sluice/executor';
export { executeStep, EXIT } from '@sluice/executor';
export type { StepSpec, StepResult } from '@sluice/executor';
export { shouldRetry, backoffMs } from './engine/retry.ts';
export type { FailureKind } from './engine/retry.ts';
export { detectGpus, parseNvidiaSmiCsv } from './engine/gpu.ts';
export { RunnerError } from './errors.ts';
export type { Clock } from './util/clock.ts';
export { openStore } from './client.ts';
export type { Store, Runs, RunFilter, RunInfo, RunDetail, TaskInfo, AttemptInfo, LineageEntry } from './client.ts';
export type { TypedRunOptions, TypedRunResult, RunOptionsFor, RunResultFor, PipelineParams, PipelineOutputs, ParamValue, OutputValue } from './typed.ts';
export type { RunStatus, TaskState, AttemptOutcome } from './store/state.ts';
// The run backend seam and its read side, for other views of the store (the web view, @sluice/ui).
export { LocalBackend } from './backend/local.ts';
export type { RunBackend } from './backend/backend.ts';
export type { RunView, RunSummaryView, TaskView, ArtifactView, LogEntry, RunRef, TaskCounts, AttemptView, CacheView, RunFilter as RunFilterView } from './backend/views.ts';
export { StateStore } from './store/state.ts';
export { findRunRow, irOf } from './query/runs.ts';
