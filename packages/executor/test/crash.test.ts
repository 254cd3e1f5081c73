// The crash points both crash suites use (runner commits, trigger daemon passes): how `SLUICE_CRASH_AT` counts.
import { afterEach, describe, expect, it, vi } from 'vitest';

async function armed(spec: string): Promise<{ crashPoint: typeof import('../src/crash.ts').crashPoint; kills: () => number }> {
  process.env.SLUICE_CRASH_AT = spec;
  vi.resetModules();
  const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
  const m = await import('../src/crash.ts');
  delete process.env.SLUICE_CRASH_AT;
  return { crashPoint: m.crashPoint, kills: () => kill.mock.calls.filter(([pid, sig]) => pid === process.pid && sig === 'SIGKILL').length };
}

afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.SLUICE_CRASH_AT;
});

describe('crashPoint', () => {
  it('`<point>:<n>` kills at the n-th reach of that point, labelled or not, by default', async () => {
    const { crashPoint, kills } = await armed('commit.before:3');
    crashPoint('commit.before');
    crashPoint('other', ['x']);
    crashPoint('commit.before', ['start:a']);
    expect(kills()).toBe(0);
    crashPoint('commit.before');
    expect(kills()).toBe(1);
  });

  it('with countUnlabelled: false only reaches that carry labels count (a daemon pass that reserved nothing)', async () => {
    const { crashPoint, kills } = await armed('triggers.reserved:2');
    const o = { countUnlabelled: false };
    crashPoint('triggers.reserved', [], o);
    crashPoint('triggers.reserved', ['run-1'], o);
    crashPoint('triggers.reserved', [], o);
    crashPoint('triggers.reserved', [], o);
    expect(kills()).toBe(0);
    crashPoint('triggers.reserved', ['run-2'], o);
    expect(kills()).toBe(1);
  });

  it('`<point>:@<label>` kills the first time the point carries that label', async () => {
    const { crashPoint, kills } = await armed('commit.after:@done:train');
    crashPoint('commit.after', ['start:train']);
    crashPoint('commit.before', ['done:train']);
    expect(kills()).toBe(0);
    crashPoint('commit.after', ['run', 'done:train']);
    expect(kills()).toBe(1);
  });
});
