import { describe, expect, it } from 'vitest';
import { backoffMs, runPipeline, shouldRetry } from '../src/index.ts';
import { fakeClock } from './fake-clock.ts';
import { fn, lit, param, paramSpec, pipeline, task, tmp } from './helpers.ts';
import type { RetryIR } from '@sluice/sdk';

describe('retry policy (pure)', () => {
  const p = (on: RetryIR['on'], limit = 2): RetryIR => ({ limit, on });
  it('one budget of `limit` retries for every kind of failure; `on` says which kinds retry', () => {
    const none = 0;
    expect([shouldRetry(p('always'), none, 'user'), shouldRetry(p('always'), none, 'system'), shouldRetry(p('always'), none, 'preempted')]).toEqual([true, true, true]);
    expect([shouldRetry(p('failure'), none, 'user'), shouldRetry(p('failure'), none, 'system'), shouldRetry(p('failure'), none, 'preempted')]).toEqual([true, false, false]);
    expect([shouldRetry(p('error'), none, 'user'), shouldRetry(p('error'), none, 'system'), shouldRetry(p('error'), none, 'preempted')]).toEqual([false, true, true]);
    expect([shouldRetry(p('transient'), none, 'user'), shouldRetry(p('transient'), none, 'system'), shouldRetry(p('transient'), none, 'preempted')]).toEqual([false, false, true]);
    expect(shouldRetry(p('always'), 2, 'user')).toBe(false);
    expect(shouldRetry(p('always'), 2, 'system')).toBe(false);
    expect(shouldRetry(p('always'), 1, 'system')).toBe(true);
    expect(shouldRetry(p('always', 9), none, 'invalid')).toBe(false);
    expect(shouldRetry(p('always', 9), none, 'nonretryable')).toBe(false);
    expect(shouldRetry(undefined, none, 'user')).toBe(false);
  });
  it('backs off by duration × factor^(n-1), capped, plus jitter', () => {
    const r: RetryIR = { limit: 5, on: 'always', backoff: { duration: '10s', factor: 2, cap: '30s' } };
    expect([1, 2, 3, 4].map((n) => backoffMs(r, n))).toEqual([10_000, 20_000, 30_000, 30_000]);
    const j: RetryIR = { limit: 5, on: 'always', backoff: { duration: '1s', jitter: 0.5 } };
    expect(backoffMs(j, 1, () => 0)).toBe(1000);
    expect(backoffMs(j, 1, () => 1)).toBe(1500);
    expect(backoffMs({ limit: 1, on: 'always' }, 1)).toBe(0);
  });
});

describe('retries in the engine (fake clock)', () => {
  it('retries user failures with backoff and then succeeds', async () => {
    let calls = 0;
    const flaky = fn('flaky', { outputs: { n: 'number' } }, async (_i, ctx) => {
      calls++;
      if (ctx.attempt < 3) throw new Error(`fail ${ctx.attempt}`);
      return { n: ctx.attempt };
    });
    const clock = fakeClock();
    const p = pipeline('retry', [flaky], [task('f', flaky, {}, [], { retry: { limit: 3, on: 'failure', backoff: { duration: '10s', factor: 2, cap: '15s' } } })], { outputValues: { n: { kind: 'output', task: 'f', output: 'n' } } });
    const r = await runPipeline(p, { storeDir: tmp(), mode: 'inprocess', clock });
    expect(r.status).toBe('succeeded');
    expect(r.outputs.n).toBe(3);
    expect(calls).toBe(3);
    expect(clock.sleeps).toEqual([10_000, 15_000]);
    expect(r.tasks.f?.attempts).toBe(3);
  });

  it('stops at once on NonRetryableError and never retries invalid inputs', async () => {
    let calls = 0;
    const nr = fn('nr', {}, async () => { calls++; throw Object.assign(new Error('bad data'), { nonRetryable: true }); });
    const typed = fn('typed', { inputs: { x: 'number' } }, async () => { calls++; });
    const retry = { limit: 5, on: 'always' as const };
    const clock = fakeClock();
    const r1 = await runPipeline(pipeline('nr', [nr], [task('t', nr, {}, [], { retry })]), { storeDir: tmp(), mode: 'inprocess', clock });
    expect(r1.tasks.t).toMatchObject({ state: 'failed', attempts: 1, error: 'nonretryable: bad data' });
    // invalid at run time (a static literal of the wrong type is refused before the run, as compile() does)
    const r2 = await runPipeline(pipeline('inv', [typed], [task('t', typed, { x: param('x') }, [], { retry })], { params: { x: paramSpec('any') } }), { storeDir: tmp(), mode: 'inprocess', clock, params: { x: 'fast' } });
    expect(r2.tasks.t).toMatchObject({ state: 'failed', attempts: 1, error: 'invalid inputs: t/inputs.x: expected number, got "fast"' });
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('does not retry user failures under on: error', async () => {
    const bad = fn('bad', {}, async () => { throw new Error('nope'); });
    const r = await runPipeline(pipeline('e', [bad], [task('t', bad, {}, [], { retry: { limit: 3, on: 'error' } })]), { storeDir: tmp(), mode: 'inprocess', clock: fakeClock() });
    expect(r.tasks.t).toMatchObject({ state: 'failed', attempts: 1 });
  });

  it('fails fast: after a failure nothing new starts, and the exit handler still runs with status Failed', async () => {
    const bad = fn('bad', {}, async () => { throw new Error('nope'); });
    const ok = fn('ok', { inputs: { s: 'string' }, outputs: { s: 'string' } }, async (i) => ({ s: String(i.s ?? 'x') }));
    const p = pipeline('ff', [bad, ok], [task('bad', bad), task('after', ok, { s: lit('a') }, ['bad'])], {
      exitHandler: task('cleanup', ok, { s: { kind: 'status' } }),
    });
    const r = await runPipeline(p, { storeDir: tmp(), mode: 'inprocess' });
    expect(r.status).toBe('failed');
    expect(r.tasks.after?.state).toBe('omitted');
    expect(r.tasks.cleanup?.state).toBe('succeeded');
  });
});
