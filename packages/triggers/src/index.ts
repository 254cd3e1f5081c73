/**
 * @sluice/triggers: continuous training. Typed triggers beside pipelines (schedules, data arrival,
 * upstream runs, drift and metric monitors), one pure decision engine that the local daemon, the
 * cluster gate step and replay all call, the drift statistics, and the emitter of Argo objects.
 */
export { evaluateDrift, prepareReference, minSampleSize, adjustPValues, formatDriftReport } from './stats/drift.ts';
export type { DriftSpec, DriftStatistic, Correction, DriftReport, FeatureDrift, PreparedReference, Column } from './stats/drift.ts';
export { ksTwoSample, wasserstein1, wassersteinNormalised, jensenShannon, psi, chiSquare, sortSample, quantileEdges, binCounts, KS_EXACT_MAX_N, PSI_EPSILON } from './stats/two-sample.ts';
export type { KsResult, ChiSquareResult, Sorted } from './stats/two-sample.ts';
