/**
 * Fault injection for the crash suite: `SLUICE_CRASH_AT=<point>:<n>` kills this process with
 * SIGKILL the n-th time it reaches `point`. Without the variable this is one comparison.
 */
const spec = process.env.SLUICE_CRASH_AT;
const [point, nth] = spec ? [spec.split(':')[0], Number(spec.split(':')[1] ?? 1)] : [undefined, 0];
let seen = 0;

export function crashPoint(name: string): void {
  if (point === undefined || name !== point) return;
  if (++seen === nth) process.kill(process.pid, 'SIGKILL');
}
