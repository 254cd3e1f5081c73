import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import {
  component, containerComponent, pipeline, toIR, Dataset, Model, Metrics, listOf, SluiceValidationError, validatePipelineIR,
  parsePipelineParams, functionRuntimes, IR_VERSION, type PipelineIR,
} from '../src/index.ts';
import iris, { prepare, train, trainPy, evaluate } from './fixtures/iris.ts';

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof SluiceValidationError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  throw new Error('expected a SluiceValidationError');
}

describe('the IR', () => {
  test('is frozen, versioned, and round-trips through JSON', () => {
    const ir = toIR(iris);
    expect(ir.irVersion).toBe(IR_VERSION);
    expect(Object.isFrozen(ir)).toBe(true);
    expect(Object.isFrozen(ir.dag[0])).toBe(true);
    const back = JSON.parse(JSON.stringify(ir)) as PipelineIR;
    expect(back).toEqual(ir);
    expect(validatePipelineIR(back)).toEqual([]);
  });

  test('stores identical components once, keyed by content hash', () => {
    const ir = toIR(iris);
    const names = Object.values(ir.components).map((c) => c.name).sort();
    expect(names).toEqual(['alert', 'evaluate', 'notify', 'pick-best', 'prepare', 'register', 'train']);
    const trainTasks = JSON.stringify(ir.dag).match(new RegExp(`"component":"${train.hash}"`, 'g'));
    expect(trainTasks).toHaveLength(2);
    expect(ir.components[train.hash]?.name).toBe('train');
  });

  test('is the same for the same pipeline (deterministic)', () => {
    const build = () => pipeline({ name: 'det', params: { s: z.string() } }, ({ s }) => { prepare({ source: s }); });
    expect(JSON.stringify(toIR(build()))).toBe(JSON.stringify(toIR(build())));
  });

  test('records control flow: condition with else, loop with parallelism, fan-in, exit handler', () => {
    const ir = toIR(iris);
    const kinds = ir.dag.map((n) => `${n.kind}:${n.id}`);
    expect(kinds).toEqual(['task:prepare', 'task:train', 'task:evaluate', 'condition:condition', 'loop:for-each', 'task:pick-best']);
    const cond = ir.dag[3];
    expect(cond?.kind === 'condition' && cond.then.map((n) => n.id)).toEqual(['register']);
    expect(cond?.kind === 'condition' && cond.else.map((n) => n.id)).toEqual(['alert']);
    const loop = ir.dag[4];
    expect(loop?.kind === 'loop' && loop.parallelism).toBe(2);
    expect(ir.dag[5]?.kind === 'task' && ir.dag[5].inputs['metrics']).toEqual({ kind: 'collect', loop: 'for-each', task: 'train-2', output: 'metrics' });
    expect(ir.exitHandler?.inputs['status']).toEqual({ kind: 'status' });
    expect(ir.dag.some((n) => n.id === 'notify')).toBe(false);
  });

  test('keeps task options as plain data', () => {
    const ir = toIR(iris);
    const t = ir.dag[1];
    expect(t?.kind === 'task' && t.options).toEqual({
      retry: { limit: 3, on: 'always', backoff: { duration: '10s', factor: 2, cap: '5m' } },
      resources: { cpu: '2', memory: '4Gi', gpu: { count: 1 } },
    });
  });

  test('synchronization: mutexes and semaphores on tasks and on the pipeline', () => {
    const ir = toIR(pipeline({ name: 'sync', synchronization: { mutexes: ['nightly'] } }, () => {
      prepare({ source: 'x' }).mutex('node-b').mutex('node-a').semaphore('limits', 'loaders');
    }));
    expect(ir.options.synchronization).toEqual({ mutexes: ['nightly'] });
    expect(ir.dag[0]?.kind === 'task' && ir.dag[0].options.synchronization).toEqual({
      mutexes: ['node-a', 'node-b'], semaphores: [{ configMap: 'limits', key: 'loaders' }],
    });
    const bad = pipeline({ name: 'sync-bad', synchronization: { semaphores: [{ configMap: 'Bad_Name', key: 'k' }] } }, () => {
      prepare({ source: 'x' }).mutex('has space');
    });
    expect(issuesOf(() => toIR(bad))).toEqual([
      'sync-bad/prepare/options.synchronization.mutexes: "has space" is not a valid mutex name (letters, digits, \'-\', \'_\', \'.\', \'/\')',
      'sync-bad/options.synchronization.semaphores: "Bad_Name" is not a valid config map name',
    ]);
  });

  test('container commands are arrays of placeholders and literals, template strings included', () => {
    const ir = toIR(pipeline({ name: 'c' }, () => {
      const d = prepare({ source: 'x' });
      trainPy({ data: d.outputs.train, lr: 0.5 });
    }));
    const c = ir.components[trainPy.hash];
    expect(c?.kind === 'container' && c.command).toEqual([
      { kind: 'literal', value: 'python' }, { kind: 'literal', value: 'train.py' }, { kind: 'literal', value: '--data' },
      { kind: 'inputPath', input: 'data' },
      { kind: 'concat', parts: [{ kind: 'literal', value: '--lr=' }, { kind: 'inputValue', input: 'lr' }] },
      { kind: 'literal', value: '--out' }, { kind: 'outputPath', output: 'model' },
    ]);
  });

  test('a pipeline is a component inside another pipeline', () => {
    const inner = pipeline({ name: 'inner', params: { source: z.string() } }, ({ source }) => {
      const d = prepare({ source });
      return { data: d.outputs.train };
    });
    const outer = pipeline({ name: 'outer' }, () => {
      const sub = inner({ source: 'iris.csv' });
      train({ data: sub.outputs.data, lr: 0.1 });
    });
    const ir = toIR(outer);
    const sub = Object.values(ir.components).find((c) => c.kind === 'pipeline');
    expect(sub?.kind === 'pipeline' && sub.dag.map((n) => n.id)).toEqual(['prepare']);
    expect(ir.components[prepare.hash]).toBeDefined();
    expect(ir.dag.map((n) => n.id)).toEqual(['inner', 'train']);
  });

  test('literals containing {{ stay literal strings in the IR', () => {
    const ir = toIR(pipeline({ name: 'lit' }, () => { prepare({ source: '{{workflow.name}}' }); }));
    expect(ir.dag[0]?.kind === 'task' && ir.dag[0].inputs['source']).toEqual({ kind: 'literal', value: '{{workflow.name}}' });
  });
});

describe('validation names every problem with its path', () => {
  test('bad literals, unknown and missing inputs, type mismatches: all reported together', () => {
    const bad = pipeline({ name: 'iris' }, () => {
      const d = prepare({ source: 'x' });
      const fit = train({ data: d.outputs.train, lr: 'fast' as unknown as number });
      (train as (a: unknown) => unknown)({ data: fit.outputs.model, lr: 0.1, epochs: 3 });
      (evaluate as (a: unknown) => unknown)({ model: fit.outputs.model });
      (prepare as (a: unknown) => unknown)({ source: d.outputs.rows, testFraction: 0.9 });
    });
    expect(issuesOf(() => toIR(bad))).toEqual([
      'iris/train/inputs.lr: expected number, got "fast"',
      'iris/train-2/inputs.data: expected a Dataset artifact, got a Model artifact',
      'iris/train-2/inputs.epochs: unknown input "epochs"; train takes data, lr',
      'iris/prepare-2/inputs.source: expected string, got integer',
      'iris/prepare-2/inputs.testFraction: too big: expected number to be <=0.5, got 0.9',
      'iris/evaluate/inputs.data: required input "data" is missing (Dataset artifact)',
    ]);
  });

  test('the error message lists every problem', () => {
    const bad = pipeline({ name: 'p' }, () => { train({ data: prepare({ source: 'x' }).outputs.train, lr: 'fast' as unknown as number }); });
    expect(() => toIR(bad)).toThrow('pipeline "p" is invalid (1 problem):\np/train/inputs.lr: expected number, got "fast"');
  });

  test('data out of a loop without collect, and out of a condition without a value on every branch', () => {
    const bad = pipeline({ name: 'esc' }, ({}, p) => {
      const d = prepare({ source: 'x' });
      let inLoop: ReturnType<typeof train> | undefined;
      p.forEach([1, 2], (lr) => { inLoop = train({ data: d.outputs.train, lr }); });
      evaluate({ model: inLoop!.outputs.model, data: d.outputs.test });
      let inThen: ReturnType<typeof train> | undefined;
      p.when(d.outputs.rows.gt(10), () => { inThen = train({ data: d.outputs.train, lr: 1 }); });
      evaluate({ model: inThen!.outputs.model, data: d.outputs.test });
    });
    expect(issuesOf(() => toIR(bad))).toEqual([
      'esc/evaluate/inputs.model: takes data out of loop "for-each" without collect (task "train" runs once per item)',
      'esc/evaluate-2/inputs.model: takes data out of condition "condition" (task "train-2" runs only in its then branch)',
    ]);
  });

  test('duplicate names, bad quantities and durations', () => {
    const bad = pipeline({ name: 'opts' }, () => {
      prepare({ source: 'a' }).named('load');
      prepare({ source: 'b' }).named('load').resources({ cpu: 'two', memory: '4GB', gpu: 0 }).timeout('soon').retry({ limit: -1, backoff: { duration: '10 sec' } });
    });
    expect(issuesOf(() => toIR(bad))).toEqual([
      'opts/load: duplicate name "load": task, condition and loop names are unique in a pipeline',
      'opts/load/options.resources.cpu: "two" is not a Kubernetes quantity (for example "500m" or "2")',
      'opts/load/options.resources.memory: "4GB" is not a Kubernetes quantity (for example "512Mi" or "4Gi")',
      'opts/load/options.resources.gpu: expected a positive whole number of GPUs, got 0',
      'opts/load/options.retry.limit: expected a whole number >= 0, got -1',
      'opts/load/options.retry.backoff.duration: "10 sec" is not a duration (for example "10s", "5m")',
      'opts/load/options.timeout: expected a duration such as "30m" or a number of seconds',
    ]);
  });

  test('cycles through explicit ordering', () => {
    const bad = pipeline({ name: 'cyc' }, () => {
      const a = prepare({ source: 'a' });
      const b = train({ data: a.outputs.train, lr: 1 });
      a.after(b);
    });
    expect(issuesOf(() => toIR(bad))).toEqual(['cyc/prepare: dependency cycle: prepare -> train -> prepare']);
  });

  test('a 10,000-task chain validates (no deep recursion), and a cycle deep inside it is found', () => {
    const step = component({ name: 'step', inputs: { x: z.number() }, outputs: { y: z.number() }, run: ({ x }) => ({ y: x + 1 }) });
    const tasks: ReturnType<typeof step>[] = [];
    const long = (cyclic: boolean) => pipeline({ name: 'long' }, () => {
      tasks.length = 0;
      tasks.push(step({ x: 0 }));
      for (let i = 1; i < 10_000; i++) tasks.push(step({ x: tasks[i - 1]!.outputs.y }));
      if (cyclic) tasks[5_000]!.after(tasks[5_002]!);
    });
    expect(toIR(long(false)).dag).toHaveLength(10_000);
    expect(issuesOf(() => toIR(long(true)))).toEqual(['long/step-5001: dependency cycle: step-5001 -> step-5002 -> step-5003 -> step-5001']);
  });

  test('hand-written IR: unknown references and unsupported versions', () => {
    const ir = JSON.parse(JSON.stringify(toIR(iris))) as { dag: { inputs: Record<string, unknown> }[]; irVersion: number };
    ir.dag[1]!.inputs['data'] = { kind: 'output', task: 'nope', output: 'x' };
    ir.dag[2]!.inputs['model'] = { kind: 'param', name: 'missing' };
    expect(validatePipelineIR(ir as unknown as PipelineIR).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'iris/train/inputs.data: refers to unknown task "nope"',
      'iris/evaluate/inputs.model: refers to unknown parameter "missing"',
    ]);
    ir.irVersion = 99;
    expect(validatePipelineIR(ir as unknown as PipelineIR)[0]?.message).toBe('IR version 99 is not supported (this Sluice reads version 1)');
  });

  test('components are called inside pipelines only', () => {
    expect(() => prepare({ source: 'x' })).toThrow('component "prepare" was called outside a pipeline: call it inside the function given to pipeline(...)');
  });
});

describe('run-time checks for values from the command line and plain JS', () => {
  test('pipeline parameters: coercion, defaults, errors naming the parameter', () => {
    expect(parsePipelineParams(iris, { source: 'iris.csv', minAccuracy: '0.95' }, { fromCli: true })).toEqual({ ok: true, values: { source: 'iris.csv', minAccuracy: 0.95 } });
    expect(parsePipelineParams(iris, { source: 'iris.csv' })).toEqual({ ok: true, values: { source: 'iris.csv', minAccuracy: 0.9 } });
    const bad = parsePipelineParams(iris, { minAccuracy: 'fast', extra: 1 }, { fromCli: true });
    expect(bad.ok === false && bad.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'iris/params.extra: unknown parameter "extra"; iris takes source, minAccuracy',
      'iris/params.source: required parameter is missing (string)',
      'iris/params.minAccuracy: expected number, got "fast"',
    ]);
  });

  test('function runtimes validate inputs and outputs with the zod schemas', async () => {
    const rt = functionRuntimes(iris).get(prepare.hash)!;
    expect(rt.ir.name).toBe('prepare');
    expect(rt.parseInputs({ source: 's' }, 'iris/prepare')).toEqual({ ok: true, values: { source: 's', testFraction: 0.2 } });
    const bad = rt.parseInputs({ source: 3 }, 'iris/prepare');
    expect(bad.ok === false && bad.issues[0]).toMatchObject({ path: 'iris/prepare/inputs.source', message: 'expected string, got 3' });
    const out = rt.parseOutputs({ rows: 1.5 }, 'iris/prepare');
    expect(out.ok === false && out.issues[0]?.message).toBe('expected int, got 1.5');
    expect([...functionRuntimes(iris).values()].map((r) => r.ir.name).sort()).toEqual(['alert', 'evaluate', 'notify', 'pick-best', 'prepare', 'register', 'train']);
  });

  test('artifact types do not mix with parameters', () => {
    const takesList = component({ name: 'takes-list', inputs: { m: listOf(Metrics) }, run: () => {} });
    const bad = pipeline({ name: 'mix' }, () => {
      const t = train({ data: prepare({ source: 'x' }).outputs.train, lr: 1 });
      (takesList as (a: unknown) => unknown)({ m: t.outputs.metrics });
      (prepare as (a: unknown) => unknown)({ source: t.outputs.model });
      (train as (a: unknown) => unknown)({ data: 'file.csv', lr: 1 });
    });
    expect(issuesOf(() => toIR(bad))).toEqual([
      'mix/takes-list/inputs.m: expected a list of Metrics artifacts (from collect), got a single Metrics artifact',
      'mix/prepare-2/inputs.source: expected a string parameter, got a Model artifact',
      'mix/train-2/inputs.data: expected a Dataset artifact, got the literal "file.csv"',
    ]);
    void Model; void Dataset; void containerComponent;
  });
});
