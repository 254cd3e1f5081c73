/**
 * Required tracking, checked before anything runs: the server must answer and accept us (the
 * run's experiment is found or created). The same check, and the same message, for a local run
 * (before the store is touched) and for a step in a pod (before the step runs).
 */
import type { TrackingTarget } from './config.ts';
import { redact } from './config.ts';
import { TrackingError } from './events.ts';
import { MlflowClient } from './mlflow.ts';

/**
 * Throws a `TrackingError` (`tracking.unreachable`) when tracking is required and the server is
 * absent, down or refusing; does nothing otherwise.
 *
 * @example
 * await checkRequiredTracking(resolveTracking(process.env, ir.options.tracking, flags, ir.name));
 */
export async function checkRequiredTracking(target: TrackingTarget): Promise<void> {
  if (target.kind !== 'mlflow' || !target.required) return;
  const client = new MlflowClient({ uri: target.uri, attempts: 2, timeoutMs: 5000, ...(target.token ? { token: target.token } : {}) });
  try {
    await client.ensureExperiment(target.experiment ?? 'sluice');
  } catch (e) {
    throw new TrackingError('tracking.unreachable', `tracking is required, but MLflow at ${redact(target.uri)} ${(e as { errorCode?: string }).errorCode === 'UNAVAILABLE' ? 'cannot be reached' : 'refused the request'} (${(e as Error).message}); nothing was run. Start the server (or fix its address or token), or run without required tracking (--no-tracking-required, or SLUICE_TRACKING_REQUIRED=false)`);
  }
}
