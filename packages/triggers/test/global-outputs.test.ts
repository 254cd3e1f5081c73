// The upstream exit hook's outputs on Argo: the producing tasks' templates export the pipeline
// outputs (`globalName`), because Argo v4.0.5 never exports the entry DAG's own outputs. The
// controller itself runs it in tools/test/cluster-client-data.test.ts; here: the shape, for every
// kind of output the compiler writes on the entry DAG.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compile } from '@sluice/compiler';
import { component, pipeline, toIR } from '@sluice/sdk';
import { emitTriggers, type ArgoObject } from '../src/argo/emit.ts';
import { exportPipelineOutputs } from '../src/argo/global-outputs.ts';
import { trigger, upstream } from '../src/define.ts';
import { report } from './helpers.ts';

type O = { [k: string]: any };

const say = component({ name: 'say', inputs: { what: z.string() }, outputs: { said: z.string() }, run: ({ what }) => ({ said: what }) });
const count = component({ name: 'count', inputs: { what: z.string() }, outputs: { n: z.number() }, run: ({ what }) => ({ n: what.length }) });
const sub = pipeline({ name: 'sub', params: { w: z.string() } }, ({ w }) => ({ inner: say({ what: w }).outputs.said }));
/** Five tasks run one template (`say`): a, b, the nested pipeline's, and both branches of a condition. */
const up = pipeline({ name: 'up', params: { word: z.string() } }, ({ word }, p) => {
  const a = say({ what: word }).named('a');
  const b = say({ what: a.outputs.said }).named('b');
  const s = sub({ w: word }).named('s');
  const c = count({ what: word });
  const pick = p
    .when(c.outputs.n.gt(3), () => say({ what: b.outputs.said }).named('long').outputs.said, { name: 'is-long' })
    .otherwise(() => say({ what: 'short' }).named('short').outputs.said);
  return { first: a.outputs.said, again: a.outputs.said, second: b.outputs.said, nested: s.outputs.inner, chosen: pick.value, echo: word, n: c.outputs.n };
});

const compiled = compile(toIR(up), { entry: 'pipelines/up.ts', kind: 'template', image: 'ghcr.io/acme/up:1' }).objects[0] as O;
const target = compile(toIR(report), { entry: 'pipelines/report.ts', kind: 'template', image: 'ghcr.io/acme/up:1' }).objects[0] as ArgoObject;
const t = trigger({ name: 'after-up', source: upstream(up), target: report, params: (e) => ({ accuracy: e.outputs.n, run: e.outputs.chosen }) }).ir;
const emitted = emitTriggers([t], { namespace: 'ml', image: 'ghcr.io/acme/sluice:1', templates: { up: compiled as ArgoObject, report: target } });
const announced = emitted.objects.find((o) => o.kind === 'WorkflowTemplate' && (o.metadata as { name: string }).name === 'up') as O;
const templates = announced.spec.templates as O[];
const tmpl = (name: string): O => templates.find((x) => x.name === name)!;
const entryTask = (name: string): O => (tmpl('main').dag.tasks as O[]).find((x) => x.name === name)!;
const globalsOf = (x: O): Record<string, string> => Object.fromEntries(((x.outputs?.parameters ?? []) as O[]).filter((p) => p.globalName).map((p) => [p.name, p.globalName]));
const body = (): string => tmpl('sluice-announce').http.body as string;
const dig = (n: string, rest = 'nil') => `sprig.dig('outputs', 'parameters', '${n}', ${rest}, workflow)`;

describe("the upstream exit hook reads outputs Argo exports (globalName on the producing task's template)", () => {
  it('emits without issues and leaves the compiler\'s template as it was', () => {
    expect(emitted.issues).toEqual([]);
    expect(JSON.stringify(compiled)).toBe(JSON.stringify(compile(toIR(up), { entry: 'pipelines/up.ts', kind: 'template', image: 'ghcr.io/acme/up:1' }).objects[0]));
    expect((compiled.spec.templates as O[]).filter((x) => x.name !== 'main').flatMap((x) => Object.keys(globalsOf(x)))).toEqual([]);
    // a parameter passed through is read from the entry template's input (Argo binds the workflow's arguments to it)
    const main = (compiled.spec.templates as O[]).find((x) => x.name === 'main')!;
    expect(main.inputs).toEqual({ parameters: [{ name: 'word' }] });
    expect((main.outputs.parameters as O[]).find((p) => p.name === 'echo')).toEqual({ name: 'echo', globalName: 'echo', valueFrom: { expression: "inputs.parameters['word']" } });
  });

  it('a task whose template no other task runs exports from it in place (a pod, a nested pipeline, a branch)', () => {
    expect(entryTask('count').template).toBe('count');
    expect(globalsOf(tmpl('count'))).toEqual({ n: 'n' });
    expect(entryTask('s').template).toBe('sub');
    expect(globalsOf(tmpl('sub'))).toEqual({ inner: 'nested' });
    // the condition's branches: each exports the chosen value, only the one that ran has outputs
    expect(globalsOf(tmpl('is-long'))).toEqual({ 'long-said': 'chosen' });
    expect(globalsOf(tmpl('is-long-else'))).toEqual({ 'short-said': 'chosen' });
  });

  it('a task sharing its template gets a clone of its own, mapped back by the source map; the shared template exports nothing', () => {
    const a = entryTask('a').template as string;
    const b = entryTask('b').template as string;
    expect([a, b]).toEqual(['say-out', 'say-out2']);
    expect(globalsOf(tmpl(a))).toEqual({ said: 'again' });
    expect(globalsOf(tmpl(b))).toEqual({ said: 'second' });
    expect(globalsOf(tmpl('say'))).toEqual({});
    // the clone is the template, but for its global name and its cache key
    const strip = (x: O) => ({ ...x, name: '', outputs: { ...x.outputs, parameters: (x.outputs.parameters as O[]).map(({ globalName: _, ...p }) => p) }, memoize: { ...x.memoize, key: '' } });
    expect(strip(tmpl(a))).toEqual(strip(tmpl('say')));
    const map = JSON.parse(announced.spec.workflowMetadata.annotations['sluice.dev/source-map'] as string) as { templates: Record<string, unknown> };
    expect(map.templates[a]).toEqual(map.templates.say);
    expect(map.templates[b]).toEqual(map.templates.say);
    // every template with a global output is run by exactly one task: no two tasks write one name
    const runs = new Map<string, number>();
    for (const x of templates) for (const task of (x.dag?.tasks ?? []) as O[]) runs.set(task.template, (runs.get(task.template) ?? 0) + 1);
    for (const x of templates.filter((y) => y.name !== 'main' && Object.keys(globalsOf(y)).length)) expect(runs.get(x.name), x.name).toBe(1);
  });

  it("an exporting step keeps cache entries of its own (a hit returns the outputs it was saved with); the key consumers fold in is unchanged", () => {
    const key = tmpl('say').memoize.key as string;
    expect(tmpl('say-out').memoize.key).toMatch(new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-g[0-9a-f]{8}$`));
    expect(tmpl('say-out2').memoize.key).not.toBe(tmpl('say-out').memoize.key);
    const folded = (x: O) => (x.outputs.parameters as O[]).find((p) => p.name === 'sluice-cache-key')!.valueFrom.default;
    expect(folded(tmpl('say-out'))).toBe(key);
    expect(tmpl('count').memoize.key).toMatch(/-g[0-9a-f]{8}$/);
  });

  it('the hook reads each output where it was exported: the same task output once, a oneOf as its first present option, a parameter from workflow.parameters', () => {
    const outputs = /"outputs":\{(.*)\}\}$/.exec(body())![1]!;
    expect(outputs.split(',"').map((x) => x.replace(/^"/, ''))).toEqual([
      `again":{{=sprig.toJson(${dig('again')})}}`,
      `chosen":{{=sprig.toJson(${dig('chosen')})}}`,
      `echo":{{=sprig.toJson(sprig.dig('parameters', 'word', nil, workflow))}}`,
      `first":{{=sprig.toJson(${dig('again')})}}`,
      `n":{{=sprig.toJson(${dig('n')})}}`,
      `nested":{{=sprig.toJson(${dig('nested')})}}`,
      `second":{{=sprig.toJson(${dig('second')})}}`,
    ]);
  });

  it('options exported under different names: the first one present', () => {
    const spec: O = {
      entrypoint: 'main',
      templates: [
        { name: 'main', outputs: { parameters: [
          { name: 'a', globalName: 'a', valueFrom: { parameter: '{{tasks.x.outputs.parameters.v}}' } },
          { name: 'b', globalName: 'b', valueFrom: { expression: "(tasks['x'].status == 'Succeeded' ? tasks['x'].outputs.parameters['v'] : tasks['y'].outputs.parameters['v'])" } },
          { name: 'lit', globalName: 'lit', valueFrom: { expression: '("it\'s {" + "{x}" + "}")' } },
          { name: 'loop', globalName: 'loop', valueFrom: { parameter: '{{tasks.z.outputs.parameters.v}}' } },
          { name: 'lib', globalName: 'lib', valueFrom: { parameter: '{{tasks.r.outputs.parameters.v}}' } },
        ] }, dag: { tasks: [
          { name: 'x', template: 'leaf' }, { name: 'y', template: 'other' },
          { name: 'z', template: 'other', withParam: '[1,2]' }, { name: 'r', templateRef: { name: 'lib', template: 'leaf' } },
        ] } },
        { name: 'leaf', outputs: { parameters: [{ name: 'v', valueFrom: { path: '/tmp/v' } }] }, container: { image: 'i' } },
        { name: 'other', outputs: { parameters: [{ name: 'v', valueFrom: { path: '/tmp/v' } }] }, container: { image: 'i' } },
      ],
    };
    const values = exportPipelineOutputs(spec, undefined);
    expect(Object.fromEntries(values)).toEqual({
      a: dig('a'),
      b: dig('a', dig('b')),
      // a literal: the same text, single-quoted (the hook body is JSON), braces still split
      lit: "('it\\'s {' + '{x}' + '}')",
      // aggregated over a loop, or in a library template: not exported (null on v4.0.5)
      lib: dig('lib'),
      loop: dig('loop'),
    });
    // `other` runs in y and in the loop z: y gets a clone
    expect((spec.templates as O[]).map((x) => `${x.name}:${JSON.stringify(globalsOf(x))}`)).toEqual(['main:{"a":"a","b":"b","lit":"lit","loop":"loop","lib":"lib"}', 'leaf:{"v":"a"}', 'other:{}', 'other-out:{"v":"b"}']);
  });
});
