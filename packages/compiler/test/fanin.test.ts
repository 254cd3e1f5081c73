/** Artifact fan-in over loops and chained memoize keys: the facts the goldens rely on, pinned one by one. */
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.ts';
import { a, collect, fn, item, lit, loop, out, p, pipe, task } from './helpers/ir.ts';

type T = { name: string; dag?: { tasks: Task[] }; memoize?: { key: string }; inputs?: { parameters?: { name: string }[] }; outputs?: { parameters?: P[]; artifacts?: { name: string; s3?: { key: string }; archive?: object }[] }; container?: { args?: string[] } };
type P = { name: string; value?: string; valueFrom?: { path?: string; default?: string; parameter?: string } };
type Task = { name: string; template: string; arguments?: { parameters?: P[]; artifacts?: { name: string; s3?: { key: string }; optional?: boolean; from?: string }[] } };

const make = fn('make', { n: p('integer') }, { data: a('Model') });
const fit = fn('fit', { data: a('Model'), lr: p('number') }, { model: a('Model') });
const best = fn('best', { models: a('Model', true) }, { model: a('Model') });
const use = fn('use', { model: a('Model') }, {});
const cache = { cache: { enabled: true } } as const;

function templates(ir: ReturnType<typeof pipe>): Map<string, T> {
  const spec = compile(ir, { entry: 'p.ts' }).objects[0]!.spec as unknown as { templates: T[] };
  return new Map(spec.templates.map((t) => [t.name, t]));
}
const taskOf = (ts: Map<string, T>, name: string): Task => [...ts.values()].flatMap((t) => t.dag?.tasks ?? []).find((t) => t.name === name)!;

describe('artifact fan-in', () => {
  const ir = pipe('f', { m: make, t: fit, b: best, u: use }, [
    task('make', 'm', { n: lit(1) }, { options: cache }),
    loop('sweep', lit([0.1, 0.2]), [task('fit', 't', { data: out('make', 'data'), lr: item('sweep') }, { options: cache })]),
    task('best', 'b', { models: collect('sweep', 'fit', 'model') }, { options: cache }),
    task('use', 'u', { model: out('best', 'model') }, { options: cache }),
    task('use-raw', 'u', { model: out('best', 'model') }, { options: { cache: { enabled: false } } }),
  ]);
  const ts = templates(ir);

  it('stores each iteration under the prefix the collecting task downloads, by pod name, unarchived', () => {
    const art = ts.get('fit')!.outputs!.artifacts!.find((x) => x.name === 'model')!;
    expect(art).toMatchObject({ s3: { key: 'sluice/{{workflow.uid}}/main/fit/model/{{pod.name}}' }, archive: { none: {} } });
    expect(ts.get('fit')!.outputs!.parameters).toContainEqual({ name: 'sluice-key-model', valueFrom: { path: '/tmp/sluice/unset', default: '{{pod.name}}' } });
    const arg = taskOf(ts, 'best').arguments!;
    expect(arg.artifacts).toEqual([{ name: 'models', s3: { key: 'sluice/{{workflow.uid}}/main/fit/model' }, optional: true }]);
    expect(arg.parameters).toContainEqual({ name: 'sluice-order-models', value: '{{tasks.sweep.outputs.parameters.fit-sluice-key-model}}' });
    expect(ts.get('best')!.container!.args!.join(' ')).toContain('--artifact models=/tmp/sluice/inputs/models --artifact-order models={{inputs.parameters.sluice-order-models}}');
  });
  it('never memoizes a task whose artifact output is collected', () => {
    expect(ts.get('fit')!.memoize).toBeUndefined();
  });
  it("folds a memoized producer's key into its consumer's key, and the run's uid otherwise", () => {
    expect(ts.get('make')!.outputs!.parameters).toContainEqual({ name: 'sluice-cache-key', valueFrom: { path: '/tmp/sluice/unset', default: ts.get('make')!.memoize!.key } });
    expect(ts.get('use')!.memoize!.key).toContain("inputs.parameters['sluice-cache-model']");
    expect(taskOf(ts, 'use').arguments!.parameters).toEqual([{ name: 'sluice-cache-model', value: '{{tasks.best.outputs.parameters.sluice-cache-key}}' }]);
    // A collected list comes from tasks that are never memoized: every run is new.
    expect(taskOf(ts, 'best').arguments!.parameters).toContainEqual({ name: 'sluice-cache-models', value: '{{workflow.uid}}' });
    // Not memoized: no key input at all.
    expect(taskOf(ts, 'use-raw').arguments!.parameters).toBeUndefined();
  });
  it('a custom cache key replaces the inputs: the key is its hash (any text gives a key Argo accepts), without input parameters', () => {
    const keyed = (key: string) => templates(pipe('f', { m: make, u: use }, [
      task('make', 'm', { n: lit(1) }, { options: cache }),
      task('use', 'u', { model: out('make', 'data') }, { options: { cache: { enabled: true, key } } }),
    ]));
    const t = keyed('fixed. Not/a label_');
    expect(t.get('use')!.memoize!.key).toMatch(/^[0-9a-f]{32}$/);
    expect(taskOf(t, 'use').arguments!.parameters).toBeUndefined();
    expect(keyed('fixed. Not/a label_').get('use')!.memoize!.key).toBe(t.get('use')!.memoize!.key);
    expect(keyed('other').get('use')!.memoize!.key).not.toBe(t.get('use')!.memoize!.key);
  });
});
