import type { LoopIR } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/index.ts';
import { fn, item, lit, param, paramSpec, pipeline, task, tmp } from './helpers.ts';

function tracker() {
  let now = 0;
  let max = 0;
  const step = fn('slow', { inputs: { i: 'number' }, outputs: { i: 'number' } }, async (i, ctx) => {
    now++;
    max = Math.max(max, now);
    await new Promise<void>((r) => {
      const t = setTimeout(r, 30);
      ctx.signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
    });
    now--;
    if (ctx.signal.aborted) throw new Error('stopped');
    return { i: i.i };
  });
  return { step, max: () => max };
}

describe('scheduling limits', () => {
  it('a loop runs at most `parallelism` iterations at once', async () => {
    const t = tracker();
    const loop: LoopIR = { kind: 'loop', id: 'l', items: lit([1, 2, 3, 4, 5, 6, 7, 8]), parallelism: 3, after: [], body: [task('s', t.step, { i: item('l') })] };
    const r = await runPipeline(pipeline('par', [t.step], [loop]), { storeDir: tmp(), mode: 'inprocess', concurrency: 10 });
    expect(r.status).toBe('succeeded');
    expect(t.max()).toBe(3);
  });

  it('the global concurrency limit caps steps across the whole run', async () => {
    const t = tracker();
    const loop: LoopIR = { kind: 'loop', id: 'l', items: lit([1, 2, 3, 4, 5, 6, 7, 8]), after: [], body: [task('s', t.step, { i: item('l') })] };
    const r = await runPipeline(pipeline('glob', [t.step], [loop, task('other', t.step, { i: lit(0) })]), { storeDir: tmp(), mode: 'inprocess', concurrency: 2 });
    expect(r.status).toBe('succeeded');
    expect(t.max()).toBe(2);
  });

  it('a stopped run is interrupted, not failed, and resume finishes only what was left', async () => {
    const t = tracker();
    const loop: LoopIR = { kind: 'loop', id: 'l', items: param('xs'), after: [], body: [task('s', t.step, { i: item('l') })] };
    const p = pipeline('stop', [t.step], [loop], { params: { xs: paramSpec('array', [1, 2, 3, 4, 5, 6]) } });
    const dir = tmp();
    const ac = new AbortController();
    let done = 0;
    const r1 = await runPipeline(p, { storeDir: dir, mode: 'inprocess', concurrency: 2, signal: ac.signal, onEvent: (e) => { if (e.type === 'task.succeeded' && ++done === 2) ac.abort('preempted'); } });
    expect(r1.status).toBe('interrupted');
    const finished = Object.entries(r1.tasks).filter(([k, v]) => k.includes('/s') && v.state === 'succeeded').map(([k]) => k);
    expect(finished.length).toBeGreaterThanOrEqual(2);
    const ran: string[] = [];
    const r2 = await runPipeline(p, { storeDir: dir, mode: 'inprocess', resume: r1.runId, onEvent: (e) => { if (e.type === 'task.started') ran.push(e.key as string); } });
    expect(r2.status).toBe('succeeded');
    expect(ran.filter((k) => finished.includes(k))).toEqual([]);
    expect(ran.length + finished.length).toBe(6);
  });
});
