/** GPU requests the machine cannot satisfy: refused up front when the task surely runs, at launch otherwise. */
import type { ConditionIR, LoopIR } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/index.ts';
import { fn, item, lit, out, param, paramSpec, pipeline, task, tmp } from './helpers.ts';

const ran: string[] = [];
const step = fn('step', { inputs: { tag: 'string' }, outputs: { tag: 'string' } }, async (i) => {
  ran.push(String(i.tag));
  return { tag: i.tag };
});
const list = fn('list', { inputs: { n: 'integer' }, outputs: { items: 'array' } }, async (i) => ({ items: Array.from({ length: i.n as number }, (_, k) => k) }));
const big = { resources: { gpu: { count: 4 } } };
const tooMany = (key: string) => `task ${key} needs 4 GPUs but this machine has 2 (0,1); set SLUICE_GPUS to override detection`;

const cond: ConditionIR = {
  kind: 'condition', id: 'wants-gpus', predicate: { kind: 'compare', op: '==', left: param('big'), right: lit(true) },
  then: [task('train-big', step, { tag: lit('big') }, [], big)], else: [task('train-small', step, { tag: lit('small') })], after: ['prep'],
};
const branchy = pipeline('branchy', [step], [task('prep', step, { tag: lit('prep') }), cond], { params: { big: paramSpec('boolean', false) } });

const dynLoop: LoopIR = { kind: 'loop', id: 'each', items: out('list', 'items'), after: [], body: [task('train', step, { tag: item('each') }, [], big)] };
const loopy = pipeline('loopy', [step, list], [task('list', list, { n: param('n') }), dynLoop], { params: { n: paramSpec('integer', 0) } });

const staticLoop: LoopIR = { kind: 'loop', id: 'each', items: lit(['1', '2']), after: [], body: [task('train', step, { tag: item('each') }, [], big)] };
const emptyLoop: LoopIR = { ...staticLoop, items: lit([]) };

const run = (p: ReturnType<typeof pipeline>, params: Record<string, unknown> = {}) => runPipeline(p, { storeDir: tmp(), mode: 'inprocess', gpus: ['0', '1'], params });

describe('GPU requests beyond the machine', () => {
  it('a task in a branch that is not taken does not stop the run', async () => {
    ran.length = 0;
    const r = await run(branchy, { big: false });
    expect(r.status).toBe('succeeded');
    expect(r.tasks['train-big']?.state).toBe('skipped');
    expect(ran).toEqual(['prep', 'small']);
  });

  it('a task in the branch taken fails when it is about to launch, with the same message', async () => {
    ran.length = 0;
    const r = await run(branchy, { big: true });
    expect(r.status).toBe('failed');
    expect(r.tasks['train-big']).toMatchObject({ state: 'failed', attempts: 0, error: tooMany('train-big') });
    expect(r.error?.split('\n')[0]).toBe(`train-big: ${tooMany('train-big')}`);
    expect(ran).toEqual(['prep']);
  });

  it('a loop over run-time items is checked per iteration at launch: none is fine, one fails', async () => {
    expect((await run(loopy, { n: 0 })).status).toBe('succeeded');
    const r = await run(loopy, { n: 1 });
    expect(r.status).toBe('failed');
    expect(r.tasks['each[0]/train']?.error).toBe(tooMany('each[0]/train'));
  });

  it('refuses the run up front when the task surely runs (top level, a non-empty literal loop), before anything runs', async () => {
    ran.length = 0;
    await expect(run(pipeline('top', [step], [task('prep', step, { tag: lit('prep') }), task('train', step, { tag: lit('x') }, ['prep'], big)]))).rejects.toThrow(tooMany('train'));
    await expect(run(pipeline('static', [step], [staticLoop]))).rejects.toThrow(tooMany('train'));
    expect(ran).toEqual([]);
    expect((await run(pipeline('empty', [step], [emptyLoop]))).status).toBe('succeeded');
  });
});
