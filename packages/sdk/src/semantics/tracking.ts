/**
 * What a pipeline's `tracking` option means, written once for the local runner, the executor in a
 * pod and the compiler: the environment variables that carry it, the precedence between a
 * `sluice run` flag, the environment and the option, the URI rule, and which artifacts are copied.
 *
 * Precedence, per setting: `sluice run` flag > environment > pipeline option > default.
 * - URI: `--tracking-uri` > `SLUICE_TRACKING_URI` > `MLFLOW_TRACKING_URI` > `tracking.uri` > none (embedded store)
 * - experiment: `--tracking-experiment` > `SLUICE_TRACKING_EXPERIMENT` > `tracking.experiment` > the pipeline's name
 * - required: `--tracking-required` > `SLUICE_TRACKING_REQUIRED` > `tracking.required` > false
 * - artifacts: `--tracking-artifacts` > `SLUICE_TRACKING_ARTIFACTS` > `tracking.artifacts` > `none`
 * - token: `MLFLOW_TRACKING_TOKEN` only (never a flag, never in the IR): in a pod the compiler
 *   fills it from the option's secret reference; on a laptop it is the caller's environment.
 */
import type { SluiceIssue } from '../errors.ts';
import type { SecretKeyRefIR, TrackingArtifactsIR, TrackingIR } from '../ir.ts';
import { literalNeedsEncoding } from './contract.ts';

/** The environment variables tracking is read from (locally and in a pod). */
export const TRACKING_ENV = {
  uri: 'SLUICE_TRACKING_URI',
  mlflowUri: 'MLFLOW_TRACKING_URI',
  token: 'MLFLOW_TRACKING_TOKEN',
  experiment: 'SLUICE_TRACKING_EXPERIMENT',
  required: 'SLUICE_TRACKING_REQUIRED',
  artifacts: 'SLUICE_TRACKING_ARTIFACTS',
} as const;

export const TRACKING_ARTIFACTS: readonly TrackingArtifactsIR[] = ['none', 'models', 'all'];

/** A URI that means "no server: the run store only". */
export function isEmbeddedUri(uri: string): boolean {
  return uri === 'embedded' || uri === 'sluice';
}

/**
 * Why a tracking URI is refused (undefined when it is fine): not a URL, a scheme other than
 * http/https, or credentials in it (they would land in the IR and the manifests; use `token`).
 */
export function trackingUriProblem(uri: string): string | undefined {
  if (isEmbeddedUri(uri)) return undefined;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return `${JSON.stringify(redactUri(uri))} is not a URL (expected http(s)://host:port of an MLflow server, or "embedded")`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `scheme "${u.protocol}" is not supported (expected http: or https: of an MLflow server, or "embedded")`;
  if (u.username || u.password) return 'the URI carries credentials; give the token as a secret reference (tracking.token) or MLFLOW_TRACKING_TOKEN instead';
  return undefined;
}

/** A URI without user info, for messages. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/[^/@]*@/, '//');
}

/** The `true`/`false` spellings the environment variable accepts. */
export function parseRequiredText(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (t === '1' || t === 'true' || t === 'yes') return true;
  if (t === '0' || t === 'false' || t === 'no' || t === '') return false;
  return undefined;
}

/** Whether an output artifact of this type is uploaded under the `artifacts` setting. */
export function copiesArtifact(mode: TrackingArtifactsIR, artifactType: string): boolean {
  return mode === 'all' || (mode === 'models' && artifactType === 'Model');
}

const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
// control characters: Argo refuses them in a manifest
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Every problem of a pipeline's `tracking` option, located at `<at>.<field>`. */
export function trackingOptionIssues(t: TrackingIR, at: string): SluiceIssue[] {
  const issues: SluiceIssue[] = [];
  if (t.uri !== undefined) {
    const p = typeof t.uri !== 'string' ? `expected a string, got ${typeof t.uri}` : literalNeedsEncoding(t.uri) ? 'contains "{{" or a control character, which cannot reach a pod as plain text' : trackingUriProblem(t.uri);
    if (p) issues.push({ code: 'tracking.uri', path: `${at}.uri`, message: p });
  }
  if (t.experiment !== undefined) {
    if (typeof t.experiment !== 'string' || t.experiment.trim() === '') issues.push({ code: 'tracking.experiment', path: `${at}.experiment`, message: `expected a non-empty experiment name, got ${JSON.stringify(t.experiment)}`, hint: 'leave it out to use the pipeline\'s name' });
    else if (CONTROL.test(t.experiment) || literalNeedsEncoding(t.experiment)) issues.push({ code: 'tracking.experiment', path: `${at}.experiment`, message: 'contains "{{" or a control character, which cannot reach a pod as plain text' });
  }
  if (t.required !== undefined && typeof t.required !== 'boolean') issues.push({ code: 'tracking.required', path: `${at}.required`, message: `expected true or false, got ${JSON.stringify(t.required)}` });
  if (t.artifacts !== undefined && !TRACKING_ARTIFACTS.includes(t.artifacts)) issues.push({ code: 'tracking.artifacts', path: `${at}.artifacts`, message: `expected one of ${TRACKING_ARTIFACTS.join(', ')}, got ${JSON.stringify(t.artifacts)}` });
  if (t.token !== undefined) {
    const r = t.token as Partial<SecretKeyRefIR> | string;
    if (typeof r !== 'object' || r === null) issues.push({ code: 'tracking.token', path: `${at}.token`, message: 'expected a secret reference { secret, key }, never the token itself', hint: "token: { secret: 'mlflow', key: 'token' }" });
    else {
      if (typeof r.secret !== 'string' || r.secret.length > 253 || !SECRET_NAME.test(r.secret)) issues.push({ code: 'tracking.token', path: `${at}.token.secret`, message: `expected a Kubernetes secret name (lowercase DNS subdomain), got ${JSON.stringify(r.secret)}` });
      if (typeof r.key !== 'string' || !SECRET_KEY.test(r.key)) issues.push({ code: 'tracking.token', path: `${at}.token.key`, message: `expected a secret key (letters, digits, '-', '_', '.'), got ${JSON.stringify(r.key)}` });
    }
  }
  return issues;
}

/**
 * The environment a pod gets from the option (the compiler emits it; `sluice exec` reads it with
 * the precedence above): plain values, and the token as a secret reference only. Empty when the
 * pipeline names no server.
 */
export function trackingPodEnv(t: TrackingIR | undefined, pipelineName: string): { readonly plain: readonly [string, string][]; readonly secret: readonly [string, SecretKeyRefIR][] } {
  if (!t?.uri || isEmbeddedUri(t.uri)) return { plain: [], secret: [] };
  const plain: [string, string][] = [
    [TRACKING_ENV.mlflowUri, t.uri],
    [TRACKING_ENV.experiment, t.experiment ?? pipelineName],
  ];
  if (t.required) plain.push([TRACKING_ENV.required, 'true']);
  if (t.artifacts && t.artifacts !== 'none') plain.push([TRACKING_ENV.artifacts, t.artifacts]);
  return { plain, secret: t.token ? [[TRACKING_ENV.token, t.token]] : [] };
}
