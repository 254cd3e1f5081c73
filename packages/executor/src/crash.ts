/**
 * Fault injection for the crash suites (the runner's and the trigger daemon's). `SLUICE_CRASH_AT=<point>:<n>`
 * kills this process with SIGKILL the n-th time it reaches `point`; `SLUICE_CRASH_AT=<point>:@<label>`
 * the first time it reaches `point` carrying `label` (commit points carry a label per queued write:
 * `start:<key>`, `done:<key>`, `run`, ...). How many commits a run makes depends on timing (group
 * commit), so a commit is named by what it commits, which every run reaches whatever the timing.
 * `SLUICE_CRASH_TRACE=<file>` appends every point reached (with its labels) to `file`.
 * Without either variable this is one comparison.
 *
 * A point reached with no label counts for `:<n>` unless the caller says `{ countUnlabelled: false }`:
 * the daemon reaches `triggers.reserved` on every pass, and only a pass that reserved something
 * (whose run ids are the labels) is a reach worth counting.
 *
 * Imported as `@sluice/executor/crash` by packages that need nothing else of the executor.
 */
import { appendFileSync } from 'node:fs';

const spec = process.env.SLUICE_CRASH_AT;
const trace = process.env.SLUICE_CRASH_TRACE;
const sep = spec?.indexOf(':') ?? -1;
const point = spec === undefined ? undefined : sep < 0 ? spec : spec.slice(0, sep);
const arg = spec !== undefined && sep >= 0 ? spec.slice(sep + 1) : '1';
const label = arg.startsWith('@') ? arg.slice(1) : undefined;
const nth = label === undefined ? Number(arg) : 0;
let seen = 0;

/** True when points need their labels (callers may skip building them otherwise). */
export const crashArmed = point !== undefined || trace !== undefined;

/** How a crash point counts its reaches. */
export interface CrashPointOptions {
  /**
   * Whether a reach without labels counts for `SLUICE_CRASH_AT=<point>:<n>`.
   * @default true
   */
  readonly countUnlabelled?: boolean;
}

/**
 * Marks a point of the code a crash test can kill the process at.
 *
 * @example
 * crashPoint('commit.before', ['start:train']);
 * crashPoint('triggers.reserved', runIds, { countUnlabelled: false });
 */
export function crashPoint(name: string, labels: readonly string[] = [], o: CrashPointOptions = {}): void {
  if (trace !== undefined) appendFileSync(trace, `${name}${labels.length ? ` ${labels.join(' ')}` : ''}\n`);
  if (name !== point) return;
  if (label !== undefined) {
    if (labels.includes(label)) process.kill(process.pid, 'SIGKILL');
    return;
  }
  if (!labels.length && o.countUnlabelled === false) return;
  if (++seen === nth) process.kill(process.pid, 'SIGKILL');
}
