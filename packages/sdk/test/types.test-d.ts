/** Type tests: the wiring is checked by the compiler. Run with `vitest --typecheck` (CI does). */
import { expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import { component, pipeline, Dataset, Model, Metrics, Artifact, listOf, type ParamRef, type ArtifactRef, type ArtifactListRef, type InputArtifact, type OutputArtifact, type MetricsOutput } from '../src/index.ts';

const prepare = component({
  name: 'prepare',
  inputs: { source: z.string(), testFraction: z.number().default(0.2) },
  outputs: { train: Dataset, rows: z.number().int() },
  async run(inputs, ctx) {
    expectTypeOf(inputs.source).toEqualTypeOf<string>();
    expectTypeOf(inputs.testFraction).toEqualTypeOf<number>();
    expectTypeOf(ctx.outputs.train).toEqualTypeOf<OutputArtifact<'Dataset'>>();
    // @ts-expect-error parameter outputs are returned, not written through ctx.outputs
    void ctx.outputs.rows;
    return { rows: 150 };
  },
});

const train = component({
  name: 'train',
  inputs: { data: Dataset, lr: z.number() },
  outputs: { model: Model, metrics: Metrics },
  async run(inputs, ctx) {
    expectTypeOf(inputs.data).toEqualTypeOf<InputArtifact<'Dataset'>>();
    expectTypeOf(ctx.outputs.metrics).toEqualTypeOf<MetricsOutput>();
  },
});

const describe = component({ name: 'describe', inputs: { name: z.string(), any: Artifact }, run: () => {} });
const pick = component({ name: 'pick', inputs: { metrics: listOf(Metrics) }, run: () => {} });

test('run must return the declared parameter outputs', () => {
  component({
    name: 'bad-return',
    outputs: { rows: z.number() },
    // @ts-expect-error a string where the output `rows` is a number
    run: async () => ({ rows: 'many' }),
  });
  component({
    name: 'missing-return',
    outputs: { rows: z.number() },
    // @ts-expect-error the output `rows` is not returned
    run: async () => ({}),
  });
});

test('task outputs are typed references inferred from the schemas', () => {
  pipeline({ name: 't', params: { source: z.string(), lr: z.number() } }, ({ source, lr }, p) => {
    expectTypeOf(source).toEqualTypeOf<ParamRef<string>>();
    const data = prepare({ source });
    expectTypeOf(data.outputs.train).toEqualTypeOf<ArtifactRef<'Dataset'>>();
    expectTypeOf(data.outputs.rows).toEqualTypeOf<ParamRef<number>>();
    const fit = train({ data: data.outputs.train, lr });

    // @ts-expect-error a Model where a Dataset is expected
    train({ data: fit.outputs.model, lr: 0.1 });
    // @ts-expect-error a number output where a string input is expected
    prepare({ source: data.outputs.rows });
    // @ts-expect-error a string literal where a number is expected
    train({ data: data.outputs.train, lr: 'fast' });
    // @ts-expect-error an unknown input name
    train({ data: data.outputs.train, lr: 0.1, epochs: 3 });
    // @ts-expect-error the required input `lr` is left out
    train({ data: data.outputs.train });
    // the input with a default may be left out
    prepare({ source: 'iris.csv' });
    // an `Artifact` input accepts any artifact type
    describe({ name: 'm', any: fit.outputs.model });

    const sweep = p.forEach([0.01, 0.1], (item) => {
      expectTypeOf(item).toEqualTypeOf<ParamRef<number>>();
      return train({ data: data.outputs.train, lr: item });
    });
    const all = sweep.collect((t) => t.outputs.metrics);
    expectTypeOf(all).toEqualTypeOf<ArtifactListRef<'Metrics'>>();
    pick({ metrics: all });
    // @ts-expect-error a single Metrics artifact where a list is expected
    pick({ metrics: fit.outputs.metrics });
    expectTypeOf(sweep.collect((t) => t.outputs.metrics)).not.toEqualTypeOf<ArtifactRef<'Metrics'>>();

    const chosen = p.when(data.outputs.rows.gt(100), () => train({ data: data.outputs.train, lr: 0.1 }).outputs.model)
      .otherwise(() => train({ data: data.outputs.train, lr: 1 }).outputs.model).value;
    expectTypeOf(chosen).toEqualTypeOf<ArtifactRef<'Model'>>();
    return { model: fit.outputs.model };
  });
});

test('a pipeline is a component of another pipeline, with typed inputs and outputs', () => {
  const inner = pipeline({ name: 'inner', params: { source: z.string() } }, ({ source }) => {
    const d = prepare({ source });
    return { rows: d.outputs.rows, data: d.outputs.train };
  });
  pipeline({ name: 'outer' }, () => {
    const t = inner({ source: 'x' });
    expectTypeOf(t.outputs.rows).toEqualTypeOf<ParamRef<number>>();
    expectTypeOf(t.outputs.data).toEqualTypeOf<ArtifactRef<'Dataset'>>();
    // @ts-expect-error inner takes a string source
    inner({ source: 1 });
  });
});
