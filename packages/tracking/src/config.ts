/**
 * Where tracking goes: the embedded store (default) or an MLflow server. One resolution for the
 * local runner and the executor in a pod, in the order the SDK's `semantics/tracking.ts` states:
 * `sluice run` flag > environment > the pipeline's `tracking` option > default. The token is
 * read from `MLFLOW_TRACKING_TOKEN` only (in a pod, a secret reference), never printed.
 */
import { isEmbeddedUri, parseRequiredText, redactUri, TRACKING_ARTIFACTS, TRACKING_ENV, trackingUriProblem, type TrackingArtifactsIR, type TrackingIR } from '@sluice/sdk';
import { TrackingError } from './events.ts';

/** The pipeline's tracking option (IR form). */
export type TrackingOptions = TrackingIR;

/** What `sluice run --tracking-*` flags give; each overrides the environment and the option. */
export interface TrackingFlags {
  readonly uri?: string;
  readonly experiment?: string;
  readonly required?: boolean;
  readonly artifacts?: TrackingArtifactsIR;
}

export type TrackingTarget =
  | { readonly kind: 'embedded' }
  | {
    readonly kind: 'mlflow'; readonly uri: string; readonly token?: string; readonly experiment?: string; readonly required: boolean;
    /** Output artifacts uploaded to MLflow. */
    readonly artifacts: TrackingArtifactsIR;
  };

const first = (...xs: (string | undefined)[]) => xs.find((x) => x !== undefined && x !== '');

/**
 * Resolves the tracking target. `pipeline` names the default experiment.
 *
 * @example
 * resolveTracking(process.env, ir.options.tracking, { uri: flags.trackingUri }, ir.name);
 */
export function resolveTracking(env: NodeJS.ProcessEnv = process.env, option: TrackingIR = {}, flags: TrackingFlags = {}, pipeline?: string): TrackingTarget {
  const fromFlag = first(flags.uri);
  const fromEnv = first(env[TRACKING_ENV.uri], env[TRACKING_ENV.mlflowUri]);
  const raw = first(fromFlag, fromEnv, option.uri);
  if (!raw || isEmbeddedUri(raw)) return { kind: 'embedded' };
  const where = fromFlag ? '--tracking-uri' : fromEnv ? (first(env[TRACKING_ENV.uri]) ? TRACKING_ENV.uri : TRACKING_ENV.mlflowUri) : 'tracking.uri';
  const problem = trackingUriProblem(raw);
  if (problem) throw new TrackingError('tracking.uri', `${where}: tracking URI ${problem}`);

  let required = option.required ?? false;
  const envRequired = env[TRACKING_ENV.required];
  if (envRequired !== undefined && envRequired !== '') {
    const r = parseRequiredText(envRequired);
    if (r === undefined) throw new TrackingError('tracking.required', `${TRACKING_ENV.required}: expected true or false (1/0, yes/no), got ${JSON.stringify(envRequired)}`);
    required = r;
  }
  if (flags.required !== undefined) required = flags.required;

  const artifacts = (first(flags.artifacts, env[TRACKING_ENV.artifacts], option.artifacts) ?? 'none') as TrackingArtifactsIR;
  if (!TRACKING_ARTIFACTS.includes(artifacts)) {
    const w = flags.artifacts ? '--tracking-artifacts' : TRACKING_ENV.artifacts;
    throw new TrackingError('tracking.artifacts', `${w}: expected one of ${TRACKING_ARTIFACTS.join(', ')}, got ${JSON.stringify(artifacts)}`);
  }
  const experiment = first(flags.experiment, env[TRACKING_ENV.experiment], option.experiment, pipeline);
  if (flags.experiment !== undefined && flags.experiment.trim() === '') throw new TrackingError('tracking.experiment', '--tracking-experiment: expected a non-empty experiment name');
  const token = first(env[TRACKING_ENV.token]);
  return { kind: 'mlflow', uri: raw, required, artifacts, ...(token ? { token } : {}), ...(experiment ? { experiment } : {}) };
}

/**
 * The environment a local step gets so that, inside it, {@link resolveTracking} finds what the
 * runner resolved (the step's registry and `ctx.models` talk to the same place). The token is
 * not repeated: the step inherits the caller's environment.
 */
export function targetEnv(t: TrackingTarget): Record<string, string> {
  if (t.kind === 'embedded') return { [TRACKING_ENV.uri]: 'embedded' };
  return {
    [TRACKING_ENV.uri]: t.uri, [TRACKING_ENV.required]: String(t.required), [TRACKING_ENV.artifacts]: t.artifacts,
    ...(t.experiment ? { [TRACKING_ENV.experiment]: t.experiment } : {}),
  };
}

/** A URI without user info, for messages. */
export function redact(uri: string): string {
  return redactUri(uri);
}
