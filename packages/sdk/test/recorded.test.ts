/**
 * toIR checks a pipeline's DAG from the builder's records when it can (src/recorded.ts) and hands
 * anything else to validatePipelineIR. These pipelines are wrong in ways only the validator
 * sees (the builder records no problem for them): each must still be reported exactly as the
 * validator reports it, and the valid ones must be IR that the validator accepts.
 */
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { component, pipeline, toIR, SluiceValidationError, validatePipelineIR, isValidatedIR, type PipelineIR } from '../src/index.ts';

const make = component({ name: 'make', outputs: { name: z.string(), n: z.number() }, run: () => ({ name: 'x', n: 1 }) });
const say = component({ name: 'say', inputs: { text: z.string() }, run: () => {} });
const add = component({ name: 'add', inputs: { n: z.number().optional() }, outputs: { n: z.number() }, run: ({ n }) => ({ n: (n ?? 0) + 1 }) });
const a2 = component({ name: 'add-2', inputs: { n: z.number().optional() }, run: () => {} });
const long = component({ name: `l${'o'.repeat(60)}ng`, run: () => {} });

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof SluiceValidationError) return e.issues.map((i) => `${i.code} ${i.path}: ${i.message}`);
    throw e;
  }
  throw new Error('expected a SluiceValidationError');
}

describe('toIR reports what only the validator sees', () => {
  test('a task waiting for itself', () => {
    expect(issuesOf(() => toIR(pipeline({ name: 'p' }, () => { const t = add({}); t.after(t); })))).toEqual([
      'graph.cycle p/add/after: "add" cannot wait for "add": one contains the other',
    ]);
  });

  test('a cycle through .after() of a later task', () => {
    expect(issuesOf(() => toIR(pipeline({ name: 'p' }, () => { const a = add({}); const b = add({ n: a.outputs.n }); a.after(b); })))).toEqual([
      'graph.cycle p/add: dependency cycle: add -> add-2 -> add',
    ]);
  });

  test("another pipeline's task output and parameters", () => {
    let other: ReturnType<typeof make> | undefined;
    let otherParam: unknown, otherNumber: unknown;
    toIR(pipeline({ name: 'q', params: { s: z.string(), only: z.string() } }, ({ s, only }) => { other = make({}); otherParam = s; otherNumber = only; }));
    expect(issuesOf(() => toIR(pipeline({ name: 'p', params: { s: z.number() } }, () => {
      say({ text: other!.outputs.name });
      say({ text: otherParam as never });
      say({ text: otherNumber as never });
      return { out: other!.outputs.name };
    })))).toEqual([
      'ref.unknown p/say/inputs.text: refers to unknown task "make"',
      'input.type p/say-2/inputs.text: expected string, got number',
      'param.unknown p/say-3/inputs.text: refers to unknown parameter "only"',
      'ref.unknown p/outputs.out: refers to unknown task "make"',
    ]);
  });

  test('the exit handler: reading a task output, its name taken, a task reading it, p.status elsewhere', () => {
    expect(issuesOf(() => toIR(pipeline({ name: 'p' }, ({}, p) => {
      const m = make({});
      p.onExit(() => say({ text: m.outputs.name }));
    })))).toEqual(['exit.ref p/say/inputs.text: the exit handler can read parameters and p.status, not task outputs']);
    expect(issuesOf(() => toIR(pipeline({ name: 'p' }, ({}, p) => {
      make({});
      p.onExit(say({ text: p.status }).named('make'));
    })))).toEqual(['id.duplicate p/make: duplicate name "make": the exit handler\'s name is taken']);
    expect(issuesOf(() => toIR(pipeline({ name: 'p' }, ({}, p) => {
      const m = make({});
      p.onExit(m);
      say({ text: m.outputs.name });
      say({ text: p.status });
    })))).toEqual([
      'ref.unknown p/say/inputs.text: refers to unknown task "make"',
      'status.scope p/say-2/inputs.text: p.status is only available in the exit handler',
    ]);
  });

  test('ids: digit first, numbered past 63 characters, a numbered id taken by a component name (each alone)', () => {
    expect(issuesOf(() => toIR(pipeline({ name: 'p' }, () => { add({}).named('9lives'); })))).toEqual([
      'id.invalid p/9lives: task id "9lives" starts with a digit; ids start with a letter (Argo refuses digit-first task names)',
    ]);
    expect(issuesOf(() => toIR(pipeline({ name: 'p' }, () => { long({}); long({}); })))).toEqual([
      `id.invalid p/${long.componentName}-2: invalid id "${long.componentName}-2": expected lowercase letters, digits and '-', starting with a letter, at most 63 characters`,
    ]);
    expect(issuesOf(() => toIR(pipeline({ name: 'p' }, () => { add({}); add({}); a2({}); })))).toEqual([
      'id.duplicate p/add-2: duplicate name "add-2": task, condition and loop names are unique in a pipeline',
    ]);
  });

  test('task options, after a task with clean ones', () => {
    expect(issuesOf(() => toIR(pipeline({ name: 'p' }, () => { add({}).timeout('1m'); add({}).timeout('soon'); })))).toEqual([
      'option.duration p/add-2/options.timeout: expected a duration such as "30m" or a number of seconds',
    ]);
  });
});

describe('what toIR accepts, the validator accepts', () => {
  const valid: [string, () => PipelineIR][] = [
    ['a chain with literals, parameters and outputs', () => toIR(pipeline({ name: 'p', params: { s: z.string() } }, ({ s }) => {
      let prev = add({ n: 1 });
      for (let i = 0; i < 50; i++) prev = add({ n: prev.outputs.n });
      say({ text: s });
      return { n: prev.outputs.n, s };
    }))],
    ['.after() of a later task, no cycle', () => toIR(pipeline({ name: 'p' }, () => { const a = add({}); const b = add({}); a.after(b); }))],
    ['an exit handler with p.status', () => toIR(pipeline({ name: 'p' }, ({}, p) => { make({}); p.onExit(() => say({ text: p.status })); }))],
  ];
  for (const [name, build] of valid) {
    test(name, () => {
      const ir = build();
      expect(isValidatedIR(ir)).toBe(true);
      expect(validatePipelineIR(JSON.parse(JSON.stringify(ir)) as PipelineIR)).toEqual([]);
    });
  }
});
