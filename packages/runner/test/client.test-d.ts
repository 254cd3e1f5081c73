// Type tests of the client API (checked by `vitest --typecheck`): runPipeline's params and outputs
// follow the pipeline's declarations. Each @ts-expect-error must be an error, or the check fails.
import { z } from 'zod';
import { describe, expectTypeOf, it } from 'vitest';
import { component, pipeline, Dataset, listOf, Model } from '@sluice/sdk';
import { openStore, runPipeline, type ArtifactRef, type RunResult, type RunSummaryView, type RunView } from '../src/index.ts';

const make = component({
  name: 'make', inputs: { n: z.number().int() }, outputs: { data: Dataset, total: z.number(), label: z.string() },
  async run({ n }, ctx) { await ctx.outputs.data.write(String(n)); return { total: n, label: 'x' }; },
});
const fit = component({ name: 'fit', inputs: { data: Dataset }, outputs: { model: Model }, async run(_, ctx) { await ctx.outputs.model.write('m'); } });
const pick = component({ name: 'pick', inputs: { models: listOf(Model) }, outputs: { best: Model }, async run(_, ctx) { await ctx.outputs.best.write('b'); } });

const p = pipeline(
  { name: 'typed', params: { n: z.number().int(), label: z.string().default('a'), source: Dataset } },
  ({ n }, b) => {
    const m = make({ n });
    const loop = b.forEach([1, 2], () => fit({ data: m.outputs.data }));
    const best = pick({ models: loop.collect((t) => t.outputs.model) });
    return { total: m.outputs.total, data: m.outputs.data, models: loop.collect((t) => t.outputs.model), best: best.outputs.best };
  },
);

describe('runPipeline typed from the pipeline', () => {
  it('takes the declared parameters', () => {
    void runPipeline(p, { params: { n: 1, source: 'data.csv' } });
    void runPipeline(p, { params: { n: 1, label: 'b', source: 'data.csv' }, mode: 'inprocess' });
    // @ts-expect-error an unknown parameter does not compile
    void runPipeline(p, { params: { n: 1, source: 'data.csv', epochs: 3 } });
    // @ts-expect-error a mistyped parameter does not compile
    void runPipeline(p, { params: { n: 'one', source: 'data.csv' } });
    // @ts-expect-error a parameter without a default is required
    void runPipeline(p, { params: { source: 'data.csv' } });
    // command-line text is strings, coerced by type at run time
    void runPipeline(p, { params: { n: '1' }, paramsFromCli: true });
  });

  it('returns the declared outputs', async () => {
    const r = await runPipeline(p, { params: { n: 1, source: 'd' } });
    if (r.status === 'succeeded') {
      expectTypeOf(r.outputs.total).toEqualTypeOf<number>();
      expectTypeOf(r.outputs.data).toEqualTypeOf<ArtifactRef>();
      expectTypeOf(r.outputs.models).toEqualTypeOf<readonly ArtifactRef[]>();
      expectTypeOf(r.outputs.best.path).toEqualTypeOf<string>();
      // @ts-expect-error an undeclared output does not compile
      void r.outputs.doesNotExist;
    } else {
      // a run that did not succeed may lack outputs
      expectTypeOf(r.outputs.total).toEqualTypeOf<number | undefined>();
    }
  });

  it('stays untyped for a file path', async () => {
    const r = await runPipeline('pipeline.ts', { params: { anything: 1 } });
    expectTypeOf(r).toEqualTypeOf<RunResult>();
  });
});

describe('openStore', () => {
  it('lists and reads runs', () => {
    const s = openStore('.sluice');
    expectTypeOf(s.runs.list({ pipeline: 'typed', status: 'succeeded' })).toEqualTypeOf<RunSummaryView[]>();
    // @ts-expect-error not a run status
    s.runs.list({ status: 'done' });
    const run = s.runs.get('typed-1');
    expectTypeOf(run).toEqualTypeOf<RunView>();
    expectTypeOf(run.tasks[0]!.attempts[0]!.outcome).toEqualTypeOf<'running' | 'succeeded' | 'failed' | 'error' | 'preempted' | 'timeout' | 'invalid' | 'nonretryable' | 'interrupted'>();
    expectTypeOf(run.artifacts[0]!.consumers).toEqualTypeOf<readonly string[]>();
  });
});
