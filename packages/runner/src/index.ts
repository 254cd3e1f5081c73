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
export type { Store, Runs } from './client.ts';
export type { RunFilter } from './backend/views.ts';
export type { TypedRunOptions, TypedRunResult, RunOptionsFor, RunResultFor, PipelineParams, PipelineOutputs, ParamValue, OutputValue } from './typed.ts';
export type { RunStatus, TaskState, AttemptOutcome } from './store/state.ts';
// The run backend seam (the CLI, a web view and tracking talk to this; the Argo backend implements it too)
export { LocalBackend } from './backend/local.ts';
export type { LocalSubmitRequest, LocalDriveOptions } from './backend/local.ts';
export { formatRunRef, parseRunRef } from './backend/backend.ts';
export type { RunBackend, SubmitRequest, DriveOptions, RunOutcome, LogOptions, StopResult } from './backend/backend.ts';
export { locateStore } from './backend/location.ts';
export type { StoreLocation } from './backend/location.ts';
export type { RunRef, RunView, RunSummaryView, TaskView, AttemptView, ArtifactView, LineageView, ProducerView, CacheView, TaskCounts, DriverView, HoldView, LogEntry, RunStatusView, TaskStateView, RunFilter as RunViewFilter, TaskBriefView, RunOverviewView } from './backend/views.ts';
export { RUN_EVENT_TYPES, eventKey, eventFields } from './backend/events.ts';
export type { EventOf, RunEventType, EventFields, OutputArtifact, OutputValue as EventOutputValue } from './backend/events.ts';
export type { RunStartedEvent, RunResumedEvent, RunWaitingEvent, RunFinishedEvent, TaskWaitingEvent, TaskStartedEvent, TaskRetryingEvent, TaskSucceededEvent, TaskCachedEvent, TaskFailedEvent, TaskSkippedEvent, TaskOmittedEvent, TaskResumedEvent, ConditionDecidedEvent, WarningEvent } from './backend/events.ts';
// Read side of the local store for other views of it (the web view, @sluice/ui): the query layer, no SQL of their own.
export { StateStore } from './store/state.ts';
export { findRunRow, irOf } from './query/runs.ts';
export type { TriggerView, TriggerDecisionView, TriggerFireView } from './query/triggers.ts';
