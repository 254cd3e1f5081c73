/**
 * Fault injection for the daemon's crash tests, with the runner's convention: `SLUICE_CRASH_AT=<point>:<n>`
 * kills this process with SIGKILL the n-th time it reaches `point`, `SLUICE_CRASH_AT=<point>:@<label>`
 * the first time it reaches it carrying `label`. Points: `triggers.reserved` (fires committed, not
 * launched; labels are their run ids) and `triggers.launched` (run created, fire not yet marked).
 */
const spec = process.env.SLUICE_CRASH_AT;
const sep = spec?.indexOf(':') ?? -1;
const point = spec === undefined ? undefined : sep < 0 ? spec : spec.slice(0, sep);
const arg = spec !== undefined && sep >= 0 ? spec.slice(sep + 1) : '1';
const label = arg.startsWith('@') ? arg.slice(1) : undefined;
const nth = label === undefined ? Number(arg) : 0;
let seen = 0;

export function crashPoint(name: string, labels: readonly string[] = []): void {
  if (name !== point) return;
  if (label !== undefined ? labels.includes(label) : labels.length > 0 && ++seen === nth) process.kill(process.pid, 'SIGKILL');
}
