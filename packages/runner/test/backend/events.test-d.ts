/** Run events are a discriminated union: narrowing on `type` gives exactly that event's fields. */
import { expectTypeOf, test } from 'vitest';
import type { EventOf, RunEvent } from '../../src/backend/events.ts';

test('narrowing on type', () => {
  const f = (e: RunEvent) => {
    if (e.type === 'task.retrying') expectTypeOf(e.delayMs).toEqualTypeOf<number>();
    if (e.type === 'run.finished') expectTypeOf(e.status).toEqualTypeOf<'succeeded' | 'failed' | 'interrupted'>();
    if (e.type === 'task.started') expectTypeOf(e).toHaveProperty('key');
    // @ts-expect-error a run event has no task key
    if (e.type === 'run.started') void e.key;
  };
  void f;
  expectTypeOf<EventOf<'task.failed'>['message']>().toEqualTypeOf<string>();
  // @ts-expect-error task.cached needs its message (where the hit came from)
  const bad: RunEvent = { type: 'task.cached', time: 1, runId: 'r', key: 'k' };
  void bad;
});
