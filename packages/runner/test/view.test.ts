import { describe, expect, it } from 'vitest';
import { RunView } from '../src/cli/view.ts';
import type { RunEvent } from '../src/index.ts';
import type { EventFields } from '../src/backend/events.ts';

function sink() {
  let text = '';
  return { stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream, text: () => text };
}

const ev = (type: RunEvent['type'], key?: string, extra: Partial<EventFields> = {}): RunEvent => ({ type, time: 1_000, runId: 'r1', ...(key ? { key } : {}), ...extra }) as RunEvent;

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

  it('shows a task waiting for a mutex (and what holds it) until it starts, and a run waiting for its own', () => {
    const s = sink();
    const v = new RunView('tty', s.stream, () => 4_000);
    v.event(ev('run.waiting', undefined, { message: 'waiting for mutex whole: held by run r0 (pid 7 on h)' }));
    v.event(ev('task.waiting', 'train', { message: 'waiting for mutex gpu: held by run r0 task train (pid 7 on h)' }));
    v.event(ev('task.waiting', 'eval', { message: 'waiting for semaphore limits/evals (1 at a time): held by run r0 task eval (pid 7 on h)' }));
    v.event(ev('task.started', 'eval', { attempt: 1, time: 3_000 }));
    v.event(ev('run.finished', undefined, { status: 'succeeded' }));
    const out = s.text();
    expect(out).toMatch(/… train\s+waiting\s+3\.0s  waiting for mutex gpu: held by run r0 task train \(pid 7 on h\)/);
    expect(out).toMatch(/▶ eval\s+running\s+1\.0s\n/);
    expect(out).toContain('2 tasks: 1 waiting, 1 running');
    expect(out).not.toContain('… run'); // its tasks moved: the run has its locks
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
