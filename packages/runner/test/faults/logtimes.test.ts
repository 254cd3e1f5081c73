// Per-line log times: each line a step writes is stored with its time (a times file beside the
// log, the log's own format unchanged), shown by `sluice logs --timestamps`, readable with timedLines.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { timedLines } from '@sluice/executor';
import { tmp } from '../helpers.ts';
import { FIXTURES, OUR_STACK, sluice } from './sluice.ts';

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

describe('per-line log times', () => {
  for (const [mode, flags] of [['warm workers', []], ['fresh processes', ['--fresh-processes']]] as const) {
    it(`${mode}: every line of the step has its time; plain logs read as before`, async () => {
      const dir = tmp('sluice-logtimes-');
      const started = Date.now();
      const r = await sluice(dir, ['run', FIXTURES, '--export', 'talk', '--run-id', 'lt', ...flags]);
      expect(r.code, r.err + r.out).toBe(0);
      const plain = await sluice(dir, ['logs', 'lt', 't']);
      expect(plain.out).toMatch(new RegExp(`^── attempt 1 · started ${ISO} ──\\nfirst line\\nsecond line, written in two writes\\n\\[info\\] from ctx.log\\n$`));
      const timed = await sluice(dir, ['logs', 'lt', 't', '--timestamps']);
      expect(timed.code, timed.err).toBe(0);
      expect(timed.out).toMatch(new RegExp(`^── attempt 1 · started ${ISO} ──\\n${ISO} first line\\n${ISO} second line, written in two writes\\n${ISO} \\[info\\] from ctx.log\\n$`));
      // the data the query layer reads: line offsets and times, in order, within the run
      const lines = timedLines(join(dir, '.sluice', 'runs', 'lt', 'logs', 't.log')).filter((l) => !l.text.startsWith('\u0000'));
      expect(lines.map((l) => l.text)).toEqual(['first line\n', 'second line, written in two writes\n', '[info] from ctx.log\n']);
      const times = lines.map((l) => l.time as number);
      expect(times.every((t) => t >= started - 1000 && t <= Date.now())).toBe(true);
      // 300 ms apart in the step (a warm worker's lines are stamped when the runner reads them from its pipe)
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(200);
      // every task prefixed, times after the prefix
      const all = await sluice(dir, ['logs', 'lt', '-t']);
      expect(all.out).toMatch(new RegExp(`^t \\| ${ISO} first line$`, 'm'));
    }, 120_000);
  }

  it('in-process: ctx.log lines have their times', async () => {
    const dir = tmp('sluice-logtimes-');
    const r = await sluice(dir, ['run', FIXTURES, '--export', 'talk', '--run-id', 'ip', '--in-process']);
    expect(r.code, r.err + r.out).toBe(0);
    const timed = await sluice(dir, ['logs', 'ip', 't', '--timestamps']);
    expect(timed.out).toMatch(new RegExp(`^${ISO} \\[info\\] from ctx.log$`, 'm'));
  }, 120_000);

  it('--timestamps with --follow is refused with one line, exit 2; an unknown task is named', async () => {
    const dir = tmp('sluice-logtimes-');
    expect((await sluice(dir, ['run', FIXTURES, '--export', 'talk', '--run-id', 'x'])).code).toBe(0);
    const f = await sluice(dir, ['logs', 'x', '-t', '-f']);
    expect(f.code).toBe(2);
    expect(f.err).toBe('sluice: --timestamps does not combine with --follow yet: follow the log, or print it with its times once the run is over\n');
    const u = await sluice(dir, ['logs', 'x', 'nope', '-t']);
    expect(u.code).toBe(2);
    expect(u.err).toBe('sluice: task nope has no log in this run\n');
    expect(u.err).not.toMatch(OUR_STACK);
  }, 120_000);
});
