/**
 * `@sluice/tracking`: metrics, params and tags of every step, kept in the embedded store and sent
 * to MLflow when one is configured; a model registry with aliases and promotion gates.
 */
export { checkEvent, parseEvents, TrackingError, TRACKING_FILE } from './events.ts';
export type { TrackingEvent, MetricEvent, ParamEvent, TagEvent } from './events.ts';
export { decideGate, checkGateSpec } from './gate.ts';
export type { GateSpec, GuardSpec, GateEvidence, GateDecision } from './gate.ts';
export { MlflowClient, MlflowError, proxiedArtifactRoot } from './mlflow.ts';
export type { MlflowOptions, MlflowRun, MlflowMetric, MlflowModelVersion, MlflowFileInfo } from './mlflow.ts';
export { resolveTracking, redact, targetEnv } from './config.ts';
export type { TrackingOptions, TrackingTarget, TrackingFlags } from './config.ts';
export { copyArtifacts, artifactHash, copiedTag, hashTag } from './artifacts.ts';
export type { ArtifactToCopy, CopyReport } from './artifacts.ts';
export { sendStepTracking, preflightStep } from './pod.ts';
export { checkRequiredTracking } from './preflight.ts';
export type { StepTrackingSend } from './pod.ts';
export { TrackingWriter, trackingLog, openRegistry } from './context.ts';
export type { TrackingLog } from './context.ts';
export type { Registry, ModelSummary, PromoteRequest, PromoteResult, ModelVersion, NewVersion } from './registry.ts';
export { syncRun, ensureMlflowRun } from './sync.ts';
export type { RunInfo, SyncOptions } from './sync.ts';
export { promote, promoteComponent, gateSchema, numericMetrics } from './promote.ts';
export type { PromoteArgs } from './promote.ts';
export { checkModelName } from './names.ts';
export type { MetricPoint, DecisionRow, AliasChange } from './embedded.ts';

/**
 * Opens the embedded tracking tables of a store directory (loads SQLite only when called).
 *
 * @example
 * const t = await openTrackingStore('.sluice'); console.log(t.metrics(runId)); t.close();
 */
export async function openTrackingStore(storeDir: string, opts: { readonly?: boolean } = {}) {
  const { TrackingStore } = await import('./embedded.ts');
  return TrackingStore.open(storeDir, opts);
}
/** The registry of the embedded store of a store directory. */
export async function openEmbeddedRegistry(storeDir: string, opts: { readonly?: boolean } = {}) {
  const [{ TrackingStore }, { EmbeddedRegistry }] = await Promise.all([import('./embedded.ts'), import('./registry.ts')]);
  return new EmbeddedRegistry(TrackingStore.open(storeDir, opts));
}
export { MlflowRegistry, EmbeddedRegistry } from './registry.ts';
