/**
 * The one duration grammar of Sluice (task timeouts, retry backoff, cache max age, run deadlines):
 * one or more `<number><unit>` parts with units `ms`, `s`, `m`, `h`, `d` (`'10s'`, `'1h30m'`,
 * `'1.5m'`, `'250ms'`), a bare non-negative number of seconds as text (`'90'`), or a number of
 * seconds. Argo's own grammar (Go's `time.ParseDuration`, no `d`) is never written by users: the
 * compiler emits whole or fractional seconds (`'90s'`).
 */

/** A duration: `'10s'`, `'5m'`, `'1h30m'`, `'250ms'`, or a number of seconds. */
export type Duration = string | number;

const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
const UNITS = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;
const BARE = /^\d+(\.\d+)?$/;

/**
 * Parses a duration into seconds; `undefined` when malformed (negative, empty, unknown unit).
 *
 * @example
 * parseDuration('1h30m') // 5400
 * parseDuration('90')    // 90
 * parseDuration('soon')  // undefined
 */
export function parseDuration(d: Duration): number | undefined {
  if (typeof d === 'number') return Number.isFinite(d) && d >= 0 ? d : undefined;
  const s = d.trim();
  if (BARE.test(s)) return Number(s);
  if (!UNITS.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return total;
}

/**
 * Parses a duration into milliseconds and throws on anything malformed (for readers of IR that
 * validation has already accepted).
 *
 * @example
 * parseDurationMs('250ms') // 250
 */
export function parseDurationMs(d: Duration): number {
  const s = parseDuration(d);
  if (s === undefined) throw new Error(`invalid duration ${JSON.stringify(d)}: expected e.g. 10s, 5m, 1h30m`);
  return Math.round(s * 1000);
}

/** Normalises a duration to the IR's string form (`90` → `'90s'`); keeps strings as given (trimmed). */
export function durationString(d: Duration): string {
  return typeof d === 'number' ? `${d}s` : d.trim();
}

/** A duration as Argo reads it (`'5400s'`): seconds, so that `d` and bare numbers mean the same on Argo. */
export function argoDuration(d: string): string {
  const s = parseDuration(d);
  return s === undefined ? d : `${s}s`;
}
