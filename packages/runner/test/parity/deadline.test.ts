/**
 * The pipeline's `deadline` means the same locally as Argo's `activeDeadlineSeconds` (the cluster
 * parity suite in tools/ checks the controller side): when it passes, the running step is stopped,
 * nothing new starts, the exit handler still runs and sees `Failed`, and the run fails. Before
 * this, the local engine ignored `deadline` and the run succeeded.
 */
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { compile } from '@sluice/compiler';
import { component, pipeline, toIR } from '@sluice/sdk';
import { describe, expect, it, onTestFinished } from 'vitest';
import { z } from 'zod';
import { runPipeline } from '../../src/index.ts';
import { tmp } from '../helpers.ts';

const seen: string[] = [];

const slow = component({
  name: 'slow',
  inputs: { seconds: z.number() },
  outputs: { done: z.boolean() },
  async run({ seconds }, ctx) {
    seen.push('slow-start');
    await sleep(seconds * 1000, undefined, { signal: ctx.signal }).catch(() => {});
    if (ctx.signal.aborted) throw new Error('slow: stopped');
    seen.push('slow-end');
    return { done: true };
  },
});

const after = component({ name: 'after', inputs: { done: z.boolean() }, outputs: {}, async run() { seen.push('after'); } });
const notify = component({ name: 'notify', inputs: { status: z.string() }, outputs: {}, async run({ status }) { seen.push(`exit:${status}`); } });

const p = pipeline({ name: 'deadline-parity', deadline: '1s' }, (_params, b) => {
  const s = slow({ seconds: 30 });
  after({ done: s.outputs.done });
  b.onExit(notify({ status: b.status }));
  return {};
});

describe('pipeline deadline', () => {
  it('stops the running step, starts nothing new, runs the exit handler, fails the run; Argo gets activeDeadlineSeconds', async () => {
    seen.length = 0;
    const started = Date.now();
    const dir = tmp('deadline');
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const r = await runPipeline(p, { storeDir: dir, mode: 'inprocess', graceMs: 500 });
    const took = Date.now() - started;
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/deadline of 1s passed/);
    expect(took).toBeLessThan(20_000);
    expect(seen).toEqual(['slow-start', 'exit:Failed']);
    expect(r.tasks.slow?.state).toBe('failed');
    expect(r.tasks.slow?.error).toMatch(/timeout: stopped: the pipeline's deadline of 1s passed/);
    expect(r.tasks.after?.state ?? 'not started').not.toBe('succeeded');
    expect(r.tasks.notify?.state).toBe('succeeded');
    const wf = compile(toIR(p), { entry: 'p.ts', image: 'img' }).objects.find((o) => (o as { kind?: string }).kind === 'Workflow') as { spec: { activeDeadlineSeconds?: number } };
    expect(wf.spec.activeDeadlineSeconds).toBe(1);
  }, 60_000);

  it('a run that ends before its deadline is not touched by it', async () => {
    seen.length = 0;
    const quick = pipeline({ name: 'deadline-quick', deadline: '30s' }, () => {
      slow({ seconds: 0 });
      return {};
    });
    const dir = tmp('deadline-quick');
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const r = await runPipeline(quick, { storeDir: dir, mode: 'inprocess' });
    expect(r.status).toBe('succeeded');
    expect(seen).toEqual(['slow-start', 'slow-end']);
  }, 60_000);
});
