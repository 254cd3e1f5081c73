/**
 * @sluice/triggers: continuous training. Typed triggers beside pipelines (schedules, data arrival,
 * upstream runs, drift and metric monitors), one pure decision engine that the local daemon, the
 * cluster gate step and replay all call, the drift statistics, and the emitter of Argo objects.
 */
export { evaluateDrift, prepareReference, minSampleSize, adjustPValues, formatDriftReport } from './stats/drift.ts';
export type { DriftSpec, DriftStatistic, Correction, DriftReport, FeatureDrift, PreparedReference, Column } from './stats/drift.ts';
export { ksTwoSample, wasserstein1, wassersteinNormalised, jensenShannon, psi, chiSquare, sortSample, quantileEdges, binCounts, KS_EXACT_MAX_N, PSI_EPSILON } from './stats/two-sample.ts';
export type { KsResult, ChiSquareResult, Sorted } from './stats/two-sample.ts';
export { trigger, schedule, dataArrival, upstream, monitor, cond, isTrigger } from './define.ts';
export type { Trigger, TriggerConfig, Source, FieldRef, ParamMapping, EventRefs } from './define.ts';
export { TRIGGER_IR_VERSION, SOURCE_FIELDS, DEFAULT_DEDUPE, fieldsOf } from './ir.ts';
export type * from './ir.ts';
export { validateTriggerIR, validateTriggerSet, cronProblem, durationMs } from './validate.ts';
export { decide, initialState, replay, runIdFor, dedupeKeyOf, ticksBetween, evaluateCondition, applyMapping, considerEvent, STATE_VERSION } from './engine.ts';
export type { TriggerState, Observation, Decision, DecisionKind, EngineResult, EventFields, QueuedFire } from './engine.ts';
export { Daemon } from './local/daemon.ts';
export type { RunnerDeps, DaemonOptions, RunFinishedEnvelope } from './local/daemon.ts';
export { TriggerStore, TRIGGER_SCHEMA_VERSION } from './local/store.ts';
export { emitTriggers, checkArgoObjects, RUNS_EVENT_SOURCE } from './argo/emit.ts';
export type { EmitOptions, EmitResult, ArgoObject } from './argo/emit.ts';
export { compileTriggers } from './argo/compile.ts';
export type { CompileTriggersOptions } from './argo/compile.ts';
export { envelopeOf } from './local/daemon.ts';
export { typedOutputs, fieldValue } from './engine.ts';
export { timeline, replayTrigger, runGate, loadTriggers } from './cli.ts';
