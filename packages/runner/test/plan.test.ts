import type { ConditionIR, LoopIR } from '@sluice/sdk';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/index.ts';
import { planRun } from '../src/plan.ts';
import { fn, item, lit, out, param, paramSpec, pipeline, task, tmp } from './helpers.ts';

const add = fn('add', { inputs: { a: 'number', b: 'number' }, outputs: { sum: 'number' } }, async (i) => ({ sum: (i.a as number) + (i.b as number) }));

function p() {
  const byParam: ConditionIR = { kind: 'condition', id: 'big', after: [], predicate: { kind: 'compare', op: '>', left: param('n'), right: lit(5) }, then: [task('yes', add, { a: lit(1), b: lit(1) })], else: [task('no', add, { a: lit(2), b: lit(2) })] };
  const byOutput: ConditionIR = { kind: 'condition', id: 'late', after: [], predicate: { kind: 'compare', op: '>', left: out('first', 'sum'), right: lit(5) }, then: [task('maybe', add, { a: lit(3), b: lit(3) })], else: [] };
  const loop: LoopIR = { kind: 'loop', id: 'each', items: param('xs'), after: ['big'], body: [task('sq', add, { a: item('each'), b: item('each') })] };
  return pipeline('plan', [add], [task('first', add, { a: param('n'), b: lit(0) }), byParam, byOutput, loop], { params: { n: paramSpec('number', 3), xs: paramSpec('array', [1, 2]) } });
}

describe('dry run', () => {
  it('shows order, resolved parameters, decided branches and cache hits, and writes nothing', async () => {
    const dir = tmp();
    const plan = await planRun(p(), { params: { n: '7' }, paramsFromCli: true, storeDir: dir });
    expect(existsSync(join(dir, 'state.db'))).toBe(false);
    const d = Object.fromEntries(plan.steps.map((s) => [s.key, s.decision]));
    expect(d).toMatchObject({ first: 'run', big: 'then', yes: 'run', no: 'skipped', late: 'maybe', maybe: 'maybe', each: 'run', 'each[0]/sq': 'run', 'each[1]/sq': 'run' });
    expect(plan.steps.find((s) => s.key === 'each[1]/sq')?.inputs).toEqual({ a: '2', b: '2' });
    expect(plan.steps.find((s) => s.key === 'each')?.wave).toBeGreaterThan(plan.steps.find((s) => s.key === 'big')?.wave ?? 0);
    await runPipeline(p(), { storeDir: dir, mode: 'inprocess', params: { n: 7 } });
    const again = await planRun(p(), { params: { n: 7 }, storeDir: dir });
    const d2 = Object.fromEntries(again.steps.map((s) => [s.key, s.decision]));
    expect(d2).toMatchObject({ first: 'cached', yes: 'cached', 'each[0]/sq': 'cached', late: 'then', maybe: 'cached' });
    expect(again.text).toContain('from cache');
  });
});
