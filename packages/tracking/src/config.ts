/**
 * Where tracking goes: the embedded store (default) or an MLflow server, chosen by
 * `SLUICE_TRACKING_URI`, then `MLFLOW_TRACKING_URI`, then the pipeline's `tracking` option.
 * Credentials come from `MLFLOW_TRACKING_TOKEN` (on a cluster: an env var from a Secret), never
 * from the URI in messages.
 */
import { TrackingError } from './events.ts';

export interface TrackingOptions {
  /** `http(s)://…` of an MLflow server; unset: the embedded store only. */
  readonly uri?: string;
  /** MLflow experiment name. @default the pipeline's name */
  readonly experiment?: string;
  /** Fail the run when the server cannot be reached (otherwise buffer and warn). @default false */
  readonly required?: boolean;
}

export type TrackingTarget =
  | { readonly kind: 'embedded' }
  | { readonly kind: 'mlflow'; readonly uri: string; readonly token?: string; readonly experiment?: string; readonly required: boolean };

/** Resolves the tracking target from the environment and the pipeline's options. */
export function resolveTracking(env: NodeJS.ProcessEnv = process.env, options: TrackingOptions = {}): TrackingTarget {
  const raw = env.SLUICE_TRACKING_URI || env.MLFLOW_TRACKING_URI || options.uri;
  const required = env.SLUICE_TRACKING_REQUIRED ? env.SLUICE_TRACKING_REQUIRED === '1' || env.SLUICE_TRACKING_REQUIRED === 'true' : options.required ?? false;
  if (!raw || raw === 'embedded' || raw === 'sluice') return { kind: 'embedded' };
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new TrackingError('tracking.uri', `tracking URI ${JSON.stringify(redact(raw))} is not a URL (expected http(s)://host:port of an MLflow server, or "embedded")`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TrackingError('tracking.uri', `tracking URI scheme "${u.protocol}" is not supported (expected http: or https: of an MLflow server, or "embedded")`);
  const token = env.MLFLOW_TRACKING_TOKEN || undefined;
  const experiment = env.SLUICE_TRACKING_EXPERIMENT || options.experiment;
  return { kind: 'mlflow', uri: raw, required, ...(token ? { token } : {}), ...(experiment ? { experiment } : {}) };
}

/** A URI without user info, for messages. */
export function redact(uri: string): string {
  return uri.replace(/\/\/[^/@]*@/, '//');
}
