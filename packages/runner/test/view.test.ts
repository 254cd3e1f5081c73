import { describe, expect, it } from 'vitest';
import { RunView } from '../src/cli/view.ts';
import type { RunEvent } from '../src/index.ts';

function sink() {
  let text = '';
  return { stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream, text: () => text };
}

const ev = (type: RunEvent['type'], key?: string, extra: Partial<RunEvent> = {}): RunEvent => ({ type, time: 1_000, runId: 'r1', ...(key ? { key } : {}), ...extra });

describe('run view', () => {
  it('draws the DAG’s progress in a terminal: state, elapsed time, attempt, cache hit', () => {
    const s = sink();
    const v = new RunView('tty', s.stream, () => 4_000);
    v.event(ev('task.started', 'prepare', { attempt: 1 }));
    v.event(ev('task.succeeded', 'prepare', { time: 2_500 }));
    v.event(ev('task.cached', 'features', { message: 'from r0/features' }));
    v.event(ev('task.started', 'train', { attempt: 1 }));
    v.event(ev('task.retrying', 'train', { message: 'failed: boom', delayMs: 1000 }));
    v.event(ev('task.started', 'train', { attempt: 2 }));
    v.event(ev('run.finished', undefined, { status: 'succeeded' }));
    v.close();
    const out = s.text();
    expect(out).toMatch(/✓ prepare\s+succeeded\s+1\.5s/);
    expect(out).toMatch(/◆ features\s+cached\s+0ms  cache hit/);
    expect(out).toMatch(/▶ train\s+running\s+3\.0s  attempt 2/);
    expect(out).toContain('3 tasks: 1 succeeded, 1 cached, 1 running');
  });

  it('prints one line per event without a terminal, and JSON with --json', () => {
    const lines = sink();
    new RunView('lines', lines.stream).event(ev('task.retrying', 'train', { attempt: 1, message: 'failed: boom', delayMs: 10_000 }));
    expect(lines.text()).toMatch(/^\d\d:\d\d:\d\d\.\d{3}  task\.retrying\s+train  attempt 1  retry in 10\.0s  — failed: boom\n$/);
    const json = sink();
    new RunView('json', json.stream).event(ev('task.cached', 'a'));
    expect(JSON.parse(json.text())).toEqual({ type: 'task.cached', time: 1000, runId: 'r1', key: 'a' });
  });
});
