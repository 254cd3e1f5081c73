/**
 * What a step reports to tracking: metrics (every value with its step and time), params and tags.
 * Plain data, validated once at the edge ({@link checkEvent}); the executor appends them to
 * `<outputs>/tracking.jsonl`, the same file locally and in a pod.
 */

/** A metric value at a step; `time` is epoch milliseconds. */
export interface MetricEvent {
  readonly kind: 'metric';
  readonly name: string;
  readonly value: number;
  readonly step: number;
  readonly time: number;
}
export interface ParamEvent {
  readonly kind: 'param';
  readonly name: string;
  readonly value: string;
}
export interface TagEvent {
  readonly kind: 'tag';
  readonly name: string;
  readonly value: string;
}
export type TrackingEvent = MetricEvent | ParamEvent | TagEvent;

/** The name of the file a step's tracking events go to, inside its outputs directory. */
export const TRACKING_FILE = 'tracking.jsonl';

// MLflow's own rule for metric, param and tag keys (alphanumerics, _ - . space / :), at most 250 chars.
const NAME_RE = /^[A-Za-z0-9_\-. /:]{1,250}$/;
/** MLflow keeps param values up to 6000 characters; longer ones are refused here, not truncated there. */
export const MAX_PARAM_LENGTH = 6000;
export const MAX_TAG_LENGTH = 8000;

/** A tracking event that is not valid: says what was expected and what was found. */
export class TrackingError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'TrackingError';
    this.code = code;
  }
}

function checkName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME_RE.test(name) || name.includes('..') || name.startsWith('/'))
    throw new TrackingError('tracking.name', `${kind} name ${JSON.stringify(name)} is not valid: expected 1-250 letters, digits, '_', '-', '.', ' ', '/' or ':' (no '..', no leading '/')`);
  return name;
}

/**
 * Validates one event and returns it; throws a {@link TrackingError} naming the problem.
 *
 * @example
 * checkEvent({ kind: 'metric', name: 'loss', value: 0.3, step: 4, time: Date.now() });
 */
export function checkEvent(e: unknown): TrackingEvent {
  if (typeof e !== 'object' || e === null) throw new TrackingError('tracking.event', `expected a tracking event object, got ${JSON.stringify(e)}`);
  const x = e as Record<string, unknown>;
  switch (x.kind) {
    case 'metric': {
      const name = checkName('metric', x.name);
      if (typeof x.value !== 'number' || !Number.isFinite(x.value)) throw new TrackingError('tracking.value', `metric "${name}": expected a finite number, got ${String(x.value)}`);
      if (typeof x.step !== 'number' || !Number.isSafeInteger(x.step) || x.step < 0) throw new TrackingError('tracking.step', `metric "${name}": step must be a non-negative integer, got ${String(x.step)}`);
      if (typeof x.time !== 'number' || !Number.isSafeInteger(x.time)) throw new TrackingError('tracking.time', `metric "${name}": time must be epoch milliseconds, got ${String(x.time)}`);
      return { kind: 'metric', name, value: x.value, step: x.step, time: x.time };
    }
    case 'param':
    case 'tag': {
      const name = checkName(x.kind, x.name);
      const max = x.kind === 'param' ? MAX_PARAM_LENGTH : MAX_TAG_LENGTH;
      if (typeof x.value !== 'string') throw new TrackingError('tracking.value', `${x.kind} "${name}": expected a string value, got ${typeof x.value}`);
      if (x.value.length > max) throw new TrackingError('tracking.value', `${x.kind} "${name}": value has ${x.value.length} characters, at most ${max} are kept`);
      return { kind: x.kind, name, value: x.value };
    }
    default:
      throw new TrackingError('tracking.event', `unknown tracking event kind ${JSON.stringify(x.kind)} (expected metric, param or tag)`);
  }
}

/** Parses a `tracking.jsonl` text: one event per line; a torn last line (a killed step) is ignored. */
export function parseEvents(text: string): TrackingEvent[] {
  const lines = text.split('\n');
  const out: TrackingEvent[] = [];
  lines.forEach((line, i) => {
    if (line === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      if (i === lines.length - 1) return; // written without its newline when the step died
      throw new TrackingError('tracking.file', `line ${i + 1} of ${TRACKING_FILE} is not JSON`);
    }
    out.push(checkEvent(v));
  });
  return out;
}
