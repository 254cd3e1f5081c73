import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/index.ts';
import { StateStore } from '../src/store/state.ts';
import { collect, fn, item, lit, out, param, paramSpec, pipeline, task, tmp } from './helpers.ts';
import type { ConditionIR, LoopIR } from '@sluice/sdk';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const add = fn('add', { inputs: { a: 'number', b: 'number' }, outputs: { sum: 'number' } }, async (i) => ({ sum: (i.a as number) + (i.b as number) }));
const writer = fn('writer', { inputs: { text: 'string' }, outputs: { data: 'artifact:Dataset', n: 'integer' } }, async (i, ctx) => {
  const o = ctx.outputs.data as { write(s: string): Promise<void>; metadata: Record<string, unknown> };
  await o.write(String(i.text));
  o.metadata.rows = 1;
  return { n: String(i.text).length };
});
const reader = fn('reader', { inputs: { data: 'artifact:Dataset' }, outputs: { text: 'string' } }, async (i) => ({ text: await (i.data as { readText(): Promise<string> }).readText() }));

describe('engine (in-process)', () => {
  it('runs a chain with parameter and artifact passing, and records it durably', async () => {
    const p = pipeline('chain', [add, writer, reader], [
      task('one', add, { a: param('x'), b: lit(2) }),
      task('two', add, { a: out('one', 'sum'), b: lit(10) }),
      task('w', writer, { text: lit('hello') }),
      task('r', reader, { data: out('w', 'data') }),
    ], { params: { x: paramSpec('number', 1) }, outputValues: { total: out('two', 'sum'), text: out('r', 'text'), data: out('w', 'data') } });
    const dir = tmp();
    const r = await runPipeline(p, { storeDir: dir, mode: 'inprocess', params: { x: 5 } });
    expect(r.status).toBe('succeeded');
    expect(r.outputs.total).toBe(17);
    expect(r.outputs.text).toBe('hello');
    const data = r.outputs.data as { path: string; hash: string; metadata: unknown };
    expect(readFileSync(data.path, 'utf8')).toBe('hello');
    expect(data.metadata).toEqual({ rows: 1 });
    const store = StateStore.open(join(dir, 'state.db'), { readonly: true });
    expect(store.getRun(r.runId)?.status).toBe('succeeded');
    expect(store.tasksOfRun(r.runId).map((t) => [t.key, t.state]).sort()).toEqual([['one', 'succeeded'], ['r', 'succeeded'], ['two', 'succeeded'], ['w', 'succeeded']]);
    expect(store.artifactsByHash(data.hash)[0]?.task_key).toBe('w');
    store.close();
  });

  it('loops, collects, and takes condition branches', async () => {
    const sum = fn('sum', { inputs: { xs: 'array' }, outputs: { total: 'number' } }, async (i) => ({ total: (i.xs as number[]).reduce((a, b) => a + b, 0) }));
    const loop: LoopIR = { kind: 'loop', id: 'each', items: param('xs'), parallelism: 2, after: [], body: [task('sq', add, { a: item('each'), b: item('each') })] };
    const cond: ConditionIR = {
      kind: 'condition', id: 'big', after: [], predicate: { kind: 'compare', op: '>', left: out('total', 'total'), right: lit(10) },
      then: [task('yes', add, { a: lit(1), b: lit(0) })], else: [task('no', add, { a: lit(0), b: lit(0) })],
    };
    const p = pipeline('loops', [add, sum], [loop, task('total', sum, { xs: collect('each', 'sq', 'sum') }), cond], {
      params: { xs: paramSpec('array', [1, 2, 3]) }, outputValues: { total: out('total', 'total'), pick: { kind: 'oneOf', condition: 'big', options: [{ kind: 'output', task: 'yes', output: 'sum' }, { kind: 'output', task: 'no', output: 'sum' }] } },
    });
    const dir = tmp();
    const r = await runPipeline(p, { storeDir: dir, mode: 'inprocess' });
    expect(r.status).toBe('succeeded');
    expect(r.outputs.total).toBe(12);
    expect(r.outputs.pick).toBe(1);
    expect(r.tasks['each[2]/sq']?.state).toBe('succeeded');
    expect(r.tasks['no']?.state).toBe('skipped');
    const r2 = await runPipeline(p, { storeDir: dir, mode: 'inprocess', params: { xs: [1] } });
    expect(r2.outputs.pick).toBe(0);
    expect(r2.tasks['yes']?.state).toBe('skipped');
    expect(r2.tasks['each[0]/sq']?.state).toBe('cached');
  });
});

describe('resume (in-process)', () => {
  it('re-executes only the tasks that had not finished', async () => {
    const calls: string[] = [];
    let broken = true;
    const step = fn('step', { inputs: { n: 'number' }, outputs: { n: 'number' } }, async (i, ctx) => {
      calls.push(ctx.taskId);
      if (ctx.taskId === 'b' && broken) throw new Error('transient trouble');
      return { n: (i.n as number) + 1 };
    });
    const p = pipeline('resume', [step], [task('a', step, { n: lit(0) }), task('b', step, { n: out('a', 'n') }), task('c', step, { n: out('b', 'n') }), task('side', step, { n: lit(10) })], { outputValues: { n: out('c', 'n') } });
    const dir = tmp();
    const r1 = await runPipeline(p, { storeDir: dir, mode: 'inprocess', concurrency: 1 });
    expect(r1.status).toBe('failed');
    expect(r1.tasks.c?.state).toBe('omitted');
    broken = false;
    calls.length = 0;
    const r2 = await runPipeline(p, { storeDir: dir, mode: 'inprocess', resume: r1.runId });
    expect(r2.runId).toBe(r1.runId);
    expect(r2.status).toBe('succeeded');
    expect(r2.outputs.n).toBe(3);
    expect(calls.sort()).toEqual(['b', 'c']);
    expect(r2.tasks.b?.attempts).toBe(2);
  });

  it('refuses to resume when the pipeline changed', async () => {
    const a = fn('a', {}, async () => { throw new Error('x'); });
    const b = fn('b', { code: 'other' }, async () => {});
    const dir = tmp();
    const r1 = await runPipeline(pipeline('chg', [a], [task('t', a)]), { storeDir: dir, mode: 'inprocess' });
    await expect(runPipeline(pipeline('chg', [b], [task('t', b)]), { storeDir: dir, mode: 'inprocess', resume: r1.runId })).rejects.toThrow(/the pipeline changed since run .* started/);
  });
});

describe('nested pipelines and exit handlers', () => {
  it('runs a pipeline component as a sub-DAG with its own task namespace, inside a loop', async () => {
    const sub = {
      hash: 'subpipeline00001',
      ir: {
        kind: 'pipeline' as const, name: 'sub', defaults: {},
        inputs: { v: { kind: 'parameter' as const, type: 'number' as const, schema: {}, optional: false } },
        outputs: { r: { kind: 'parameter' as const, type: 'number' as const, schema: {}, optional: false } },
        dag: [task('inner', add, { a: param('v'), b: lit(100) }), task('inner2', add, { a: out('inner', 'sum'), b: lit(1) })],
        outputValues: { r: out('inner2', 'sum') },
      },
    };
    const loop: LoopIR = { kind: 'loop', id: 'each', items: lit([1, 2]), after: [], body: [task('s', sub, { v: item('each') })] };
    const sum = fn('sumlist', { inputs: { xs: 'array' }, outputs: { total: 'number' } }, async (i) => ({ total: (i.xs as number[]).reduce((a, b) => a + b, 0) }));
    const p = pipeline('nested', [add, sub, sum], [loop, task('total', sum, { xs: collect('each', 's', 'r') })], { outputValues: { total: out('total', 'total') } });
    const r = await runPipeline(p, { storeDir: tmp(), mode: 'inprocess' });
    expect(r.status).toBe('succeeded');
    expect(r.outputs.total).toBe(101 + 1 + 102 + 1);
    expect(r.tasks['each[1]/s/inner2']?.state).toBe('succeeded');
    expect(r.tasks['each[0]/s']?.state).toBe('succeeded');
  });
});
