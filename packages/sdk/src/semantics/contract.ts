/**
 * The executor contract: what the compiler (Argo pods) and the local runner hand `sluice exec`,
 * and what it hands back. The executor (`@sluice/executor`) imports these constants; the compiler
 * writes them into manifests. See ARCHITECTURE.md, "The executor contract".
 */
import type { JsonValue, ParameterSpec } from '../ir.ts';

/** Exit codes of `sluice exec`: 0 success, 1 user failure, 2 invalid inputs, 3 `NonRetryableError`, 143 preempted. */
export const EXIT = { succeeded: 0, failed: 1, invalid: 2, nonretryable: 3, preempted: 143 } as const;

/** The flags of `sluice exec`. */
export const EXEC_FLAG = {
  entry: '--entry',
  exportName: '--export',
  component: '--component',
  componentName: '--component-name',
  task: '--task',
  /** `name=<text>`: a parameter as raw text (a `string` as is, other types JSON). */
  param: '--param',
  /** `name=<base64 of the UTF-8 text>`: a parameter the compiler had to encode (see {@link literalNeedsEncoding}). */
  paramBase64: '--param-b64',
  artifact: '--artifact',
  artifactOrder: '--artifact-order',
  outputs: '--outputs',
  runId: '--run-id',
  /** The attempt number (1 for the first). On Argo `{{retries}}` + 1. */
  attempt: '--attempt',
  /** `retries=<n>`: Argo's `{{retries}}` (0 for the first attempt); the executor adds one. */
  retries: '--retries',
  checkpointDir: '--checkpoint-dir',
  spec: '--spec',
  grace: '--grace',
} as const;

/** Directories inside a pod. */
export const POD_PATHS = {
  inputs: '/tmp/sluice/inputs',
  outputs: '/tmp/sluice/outputs',
  /** Checkpoints of the step; on Argo loaded from and saved to the artifact repository under the run and task. */
  checkpoints: '/tmp/sluice/checkpoints',
} as const;

/**
 * The layout of an outputs directory: `<outputs>/parameters/<name>`, `<outputs>/artifacts/<name>` (+ `.meta.json`), `error.json`.
 * In a pod the executor also writes `<outputs>/parameters/sluice-artifacts`: every output artifact's
 * content hash, size and type as JSON (`{ "model": { "hash": "<sha256 hex>", "size": 123, "type": "Model" } }`),
 * which the compiler declares as an output parameter of the step so that it reaches the Workflow's node status.
 */
export const OUTPUT_LAYOUT = { parameters: 'parameters', artifacts: 'artifacts', metaSuffix: '.meta.json', error: 'error.json', artifactHashes: 'sluice-artifacts' } as const;

/**
 * Characters a literal cannot carry through a manifest as text: `{{` (Argo would substitute it)
 * and control characters other than tab and newline (Argo's lint and YAML tooling reject them).
 */
const NEEDS_ENCODING = /\{\{|[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;

/** True when a literal's text must travel base64-encoded (`--param-b64`) rather than as text. */
export function literalNeedsEncoding(text: string): boolean {
  return NEEDS_ENCODING.test(text);
}

/** Base64 of the UTF-8 text. */
export function encodeBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** The text of a base64 value; throws on malformed input. */
export function decodeBase64(b64: string): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error(`not base64: ${JSON.stringify(b64.slice(0, 40))}`);
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** The text form of a parameter value: strings as they are, everything else JSON. */
export function paramText(v: JsonValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

const SCALAR_FROM_TEXT: Readonly<Record<string, (s: string) => JsonValue | undefined>> = {
  number: (s) => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : undefined),
  integer: (s) => (/^-?\d+$/.test(s.trim()) ? Number(s) : undefined),
  boolean: (s) => (s === 'true' ? true : s === 'false' ? false : undefined),
};

/**
 * A parameter's value from its text form, by its declared spec: a `string` as is, every other
 * type JSON. One coercion, by the spec only: Argo hands a loop's aggregated outputs to the
 * collecting step as a JSON list of strings (`["9","1","4"]`), so for an array whose schema
 * declares number, integer or boolean items, string items that are such values become them.
 * Throws a `SyntaxError` when the text is not JSON.
 *
 * @example
 * parseParamText('["9","1"]', { kind: 'parameter', type: 'array', schema: { type: 'array', items: { type: 'number' } }, optional: false }) // [9, 1]
 */
export function parseParamText(text: string, spec: Pick<ParameterSpec, 'type' | 'schema'>): JsonValue {
  if (spec.type === 'string') return text;
  const v = JSON.parse(text) as JsonValue;
  if (spec.type !== 'array' || !Array.isArray(v)) return v;
  const itemType = (spec.schema as { items?: { type?: unknown } }).items?.type;
  const from = typeof itemType === 'string' ? SCALAR_FROM_TEXT[itemType] : undefined;
  if (!from) return v;
  return v.map((x) => (typeof x === 'string' ? from(x) ?? x : x));
}

/**
 * The IR task id in an Argo node name (what a pod gets as `--task {{node.name}}`): its last
 * `.`-separated segment, without a retry suffix `(n)` or a loop suffix `(i:item)`.
 *
 * @example
 * taskIdFromNodeName('run-x7k2.main.lp(1:3).train(0)') // 'train'
 */
export function taskIdFromNodeName(nodeName: string): string {
  let s = nodeName;
  for (let m = /\([^()]*\)$/.exec(s); m; m = /\([^()]*\)$/.exec(s)) s = s.slice(0, m.index);
  return s.slice(s.lastIndexOf('.') + 1);
}
