import { SluiceValidationError } from '@sluice/sdk';
import type { PipelineIR } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../src/index.ts';
import { a, collect, ctr, fn, item, lit, loop, out, p, param, pipe, task } from './helpers/ir.ts';

const opts: CompileOptions = { entry: 'p.ts' };

function issuesOf(ir: PipelineIR, o: CompileOptions = opts): string[] {
  try {
    compile(ir, o);
  } catch (e) {
    if (e instanceof SluiceValidationError) return e.issues.map((i) => `${i.code} ${i.path}: ${i.message}${i.hint ? ` (${i.hint})` : ''}`);
    throw e;
  }
  throw new Error('expected compile to throw');
}

const echo = ctr('echo', 'alpine:3', [{ kind: 'literal', value: 'echo' }, { kind: 'inputValue', input: 'msg' }], { msg: p('string') });
const sq = fn('square', { x: p('number') }, { y: p('number') });

describe('compile errors', () => {
  it('refuses "{{" in a literal bound to a container input', () => {
    expect(issuesOf(pipe('x', { e: echo }, [task('say', 'e', { msg: lit('hi {{workflow.name}}') })]))).toEqual([
      'argo.template x/say/inputs.msg: literal "hi {{workflow.name}}" contains "{{", which Argo would read as a template expression (a container component cannot receive it unchanged from a manifest; compute it in a function component and pass its output)',
    ]);
  });
  it('refuses "{{" in a container command literal and in options', () => {
    const bad = ctr('bad', 'alpine:3', [{ kind: 'literal', value: '{{pod.name}}' }]);
    expect(issuesOf(pipe('x', { b: bad, s: sq }, [task('b', 'b'), task('s', 's', { x: lit(1) }, { options: { env: { A: '{{secret}}' } } })]))).toEqual([
      'argo.template x/b/command: literal argument "{{pod.name}}" contains "{{", which Argo would read as a template expression (pass the text as an input of the component instead)',
      'argo.template x/s/options.env.A: contains "{{", which Argo would read as a template expression (pass the text as a parameter of a function component instead)',
    ]);
  });
  it('refuses names and images the API server or Argo would refuse, located', () => {
    const ir = pipe('x', { e: echo }, [task('say', 'e', { msg: lit('hi') })]);
    expect(issuesOf(ir, { ...opts, namespace: 'Bad_NS', name: 'UPPER' })).toEqual([
      "compile.namespace x/namespace: namespace \"Bad_NS\" is not a Kubernetes namespace name: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
      "compile.name x/name: object name \"UPPER\" is not a name Argo accepts for a Workflow: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 63 characters",
    ]);
    expect(issuesOf({ ...ir, options: { namespace: 'team.a' } })).toEqual([expect.stringMatching(/^compile\.namespace x\/namespace: namespace "team\.a"/)]);
    expect(issuesOf(ir, { ...opts, name: 'a'.repeat(64), kind: 'template' })).toEqual([expect.stringMatching(/^compile\.name x\/name: object name "a{64}" is not a name Argo accepts for a WorkflowTemplate/)]);
    // a CronWorkflow's name, given or made from the pipeline's, is at most 52 characters
    const long = pipe('p'.repeat(60), { e: echo }, [task('say', 'e', { msg: lit('hi') })]);
    expect(issuesOf(long, { ...opts, kind: 'cron', schedules: ['0 3 * * *'] })).toEqual([expect.stringMatching(/^compile\.name p{60}\/name: .*at most 52 characters \(Argo appends .*\(give the CronWorkflow a shorter name/)]);
    expect(() => compile(long, { ...opts, kind: 'cron', schedules: ['0 3 * * *'], name: 'nightly' })).not.toThrow();
    const spaced = ctr('spaced', 'alpine:3 latest', [{ kind: 'literal', value: 'true' }]);
    expect(issuesOf(pipe('x', { s: spaced }, [task('s', 's')]))).toEqual(['compile.image x/spaced/image: image "alpine:3 latest" is not an image reference: it holds whitespace or a control character']);
    // an image the API server takes but no node can pull (InvalidImageName when the pod starts)
    for (const bad of ['ghcr.io/x:1$(id)', 'Acme/Train:1', 'img:', 'img:-x', 'img:tag@sha256:short', 'a//b', '-img', `img:${'t'.repeat(129)}`]) {
      const c = ctr('c', bad, [{ kind: 'literal', value: 'true' }]);
      expect(issuesOf(pipe('x', { c }, [task('c', 'c')])), bad).toEqual([`compile.image x/c/image: image ${JSON.stringify(bad)} is not an image reference a node can pull: [registry[:port]/]name[:tag][@digest], the name in lowercase letters, digits and . _ - separators, e.g. ghcr.io/acme/train:1.4`]);
    }
    for (const good of ['alpine', 'alpine:3.20', 'python:3.12-slim', 'ghcr.io/acme/train:1.4', 'localhost:5000/a/b_c__d--e:V1.0_x', `registry.k8s.io/pause@sha256:${'a'.repeat(64)}`, `Registry.Example.com:443/team/img:t@sha256:${'b'.repeat(64)}`, '[::1]:5000/img']) {
      const c = ctr('c', good, [{ kind: 'literal', value: 'true' }]);
      expect(() => compile(pipe('x', { c }, [task('c', 'c')]), opts), good).not.toThrow();
    }
    // control characters in the entry or the export name: Argo refuses them in a manifest
    expect(issuesOf({ ...pipe('x', { s: sq }, [task('s', 's', { x: lit(1) })]), options: { image: 'img:1' } }, { entry: 'a\u0001b.ts', exportName: 'e\u007f' })).toEqual([
      'argo.template x/entry: the entry file "a\\u0001b.ts" contains a control character, which Argo refuses in a manifest',
      'argo.template x/exportName: the export name "e\u007f" contains a control character, which Argo refuses in a manifest',
    ]);
    // user texts that reach the manifest: a "{{" is refused (Argo would substitute it), a "$(" escaped (Kubernetes would expand it)
    const fnPipe = { ...pipe('x', { s: sq }, [task('s', 's', { x: lit(1) })]), options: { image: 'img:{{tag}}' } };
    expect(issuesOf(fnPipe, { entry: 'p{{workflow.name}}.ts', exportName: 'e{{x}}' })).toEqual([
      'argo.template x/entry: the entry file "p{{workflow.name}}.ts" contains "{{", which Argo would read as a template expression',
      'argo.template x/exportName: the export name "e{{x}}" contains "{{", which Argo would read as a template expression',
      'argo.template x/square/image: image "img:{{tag}}" contains "{{", which Argo would read as a template expression',
    ]);
    const dollars = compile({ ...fnPipe, options: { image: 'img:1' } }, { entry: '$(HOME)/p.ts', exportName: '$(X)' }).yaml;
    expect(dollars).toContain("- '$$(HOME)/p.ts'");
    expect(dollars).toContain("- '$$(X)'");
    expect(dollars).not.toMatch(/[^$]\$\((HOME|X)\)/);
    // what they accept compiles: a dotted object name, a namespace label
    expect(() => compile(ir, { ...opts, name: 'train.v2', namespace: 'ml-team' })).not.toThrow();
  });
  it('needs an image for function components', () => {
    const ir = { ...pipe('x', { s: sq }, [task('s', 's', { x: lit(1) })]), options: {} };
    expect(issuesOf(ir)).toEqual(['argo.image x/s: function component has no image to run in (set the pipeline option image, or pass image to compile())']);
  });
  it('reports deep item fields, which Argo cannot express', () => {
    const make = fn('make', { n: p('any') }, { data: a('Dataset') });
    const merge = fn('merge', { parts: a('Dataset', true) }, {});
    const ir = pipe('x', { m: make, g: merge }, [
      loop('each', lit([{ a: { b: 1 } }]), [task('mk', 'm', { n: item('each', 'a', 'b') })]),
      task('merge', 'g', { parts: collect('each', 'mk', 'data') }),
    ]);
    expect(issuesOf(ir)).toEqual([
      'argo.item x/mk/inputs.n: uses the item field a.b; Argo substitutes only top-level item fields (make the loop items flat objects)',
    ]);
  });
  it('reports collected artifacts that go anywhere but a function component\'s list input', () => {
    const make = fn('make', { n: p('any') }, { data: a('Dataset') });
    const merge = ctr('merge', 'alpine:3', [{ kind: 'inputPath', input: 'parts' }], { parts: a('Dataset', true) });
    const ir = pipe('x', { m: make, g: merge }, [
      loop('each', lit([1, 2]), [task('mk', 'm', { n: item('each') })]),
      task('merge', 'g', { parts: collect('each', 'mk', 'data') }),
    ], { outputs: { all: a('Dataset', true) }, outputValues: { all: collect('each', 'mk', 'data') } });
    expect(issuesOf(ir)).toEqual([
      'argo.collect x/merge/inputs.parts: collects artifact "data" over a loop here; on Argo only a function component\'s list input can take collected artifacts (pass the list to a function component (listOf(...) input) and hand on what it produces)',
      'argo.collect x/outputs.all: collects artifact "data" over a loop here; on Argo only a function component\'s list input can take collected artifacts (pass the list to a function component (listOf(...) input) and hand on what it produces)',
    ]);
  });
  it('reports options that cannot apply to a nested pipeline task, and display names Argo cannot show', () => {
    const sub = { kind: 'pipeline' as const, name: 'sub', inputs: {}, outputs: {}, defaults: {}, dag: [task('s', 's', { x: lit(1) })], outputValues: {} };
    const ir = pipe('x', { s: sq, n: sub }, [
      task('a', 'n', {}, { options: { retry: { limit: 2, on: 'always' }, timeoutSeconds: 60, env: { A: 'b' }, displayName: 'Fine name' } }),
      task('b', 'n', {}, { options: { displayName: ' (x) ' } }),
    ]);
    expect(issuesOf(ir)).toEqual([
      'argo.nested-option x/a/options.env: option "env" cannot apply to a task that runs the nested pipeline "sub": on Argo it is a DAG, with no pod, retry, timeout or cache of its own (set the option on the tasks inside the nested pipeline (or in its pipeline defaults))',
      'argo.nested-option x/a/options.retry: option "retry" cannot apply to a task that runs the nested pipeline "sub": on Argo it is a DAG, with no pod, retry, timeout or cache of its own (set the option on the tasks inside the nested pipeline (or in its pipeline defaults))',
      'argo.nested-option x/a/options.timeoutSeconds: option "timeoutSeconds" cannot apply to a task that runs the nested pipeline "sub": on Argo it is a DAG, with no pod, retry, timeout or cache of its own (set the option on the tasks inside the nested pipeline (or in its pipeline defaults))',
      'argo.display-name x/b/options.displayName: display name " (x) " has fewer than two letters or digits; Argo cannot show it (use a longer display name)',
    ]);
  });
  it('reports unknown parameters and a cron workflow without schedules', () => {
    const ir = pipe('x', { s: sq }, [task('s', 's', { x: param('n') })], { params: { n: p('number') } });
    expect(issuesOf(ir, { ...opts, kind: 'cron', params: { m: 1 } })).toEqual([
      'param.unknown x/params.m: unknown parameter "m"; the pipeline takes n',
      "compile.schedules x: a CronWorkflow needs at least one schedule (pass { schedules: ['0 3 * * *'] })",
    ]);
  });
  it('reports task ids Argo cannot take (the SDK rule: ids start with a letter)', () => {
    expect(issuesOf(pipe('x', { s: sq }, [task('1st', 's', { x: lit(1) })]))).toEqual([
      'id.invalid x/1st: task id "1st" starts with a digit; ids start with a letter (Argo refuses digit-first task names) (name it with .named(...))',
    ]);
  });
  it('collects SDK validation issues and Argo issues together, and writes nothing', () => {
    const ir = pipe('x', { e: echo, s: sq }, [task('say', 'e', { msg: lit('{{x}}') }), task('s', 's', { x: out('nope', 'y') })]);
    const issues = issuesOf(ir);
    expect(issues).toContain('ref.unknown x/s/inputs.x: refers to unknown task "nope"');
    expect(issues.some((i) => i.startsWith('argo.template x/say/inputs.msg'))).toBe(true);
  });
  it('formats the thrown error with every issue', () => {
    expect(() => compile(pipe('x', { s: sq }, [task('1st', 's', { x: lit(1) })]), opts)).toThrow(
      'pipeline is invalid (1 problem):\nx/1st: task id "1st" starts with a digit; ids start with a letter (Argo refuses digit-first task names)',
    );
  });
});

describe('literal safety', () => {
  it('passes every function parameter base64 by flag: literals that need it encoded by the compiler, others by Argo (sprig.b64enc)', () => {
    const note = fn('note', { text: p('string') });
    const texts = ['{{workflow.name}}', 'sluice:b64:aGVsbG8=', 'plain', 'ünïcode {{ x }}', 'nul \u0000 soh \u0001 del \u007f', '$(HF_TOKEN) costs $$5'];
    const ir = pipe('x', { n: note }, texts.map((t, i) => task(`n${i}`, 'n', { text: lit(t) })));
    const { yaml, objects } = compile(ir, opts);
    type T = { name: string; container?: { args: string[] }; dag?: { tasks: { template: string; arguments: { parameters: { value: string }[] } }[] } };
    const templates = (objects[0]!.spec as { templates: T[] }).templates;
    const byName = new Map(templates.map((t) => [t.name, t]));
    const received = templates[0]!.dag!.tasks.map((t) => {
      const value = t.arguments.parameters[0]!.value;
      const args = byName.get(t.template)!.container!.args;
      const arg = args[args.indexOf('--param-b64') + 1]!;
      // what the executor decodes: the compiler's base64 as given, or Argo's sprig.b64enc of the raw value
      return arg === 'text={{inputs.parameters.text}}' ? Buffer.from(value, 'base64').toString('utf8') : (expect(arg).toBe("text={{=sprig.b64enc(inputs.parameters['text'])}}"), value);
    });
    expect(received).toEqual(texts);
    // the in-band marker is plain text now: passed raw (and base64'd by Argo), never decoded as a marker
    expect(templates[0]!.dag!.tasks[1]!.arguments.parameters[0]!.value).toBe('sluice:b64:aGVsbG8=');
    expect(yaml).not.toContain('--param\n');
    // No literal "{{" reaches the manifest outside the compiler's own references, and no control character at all.
    expect(yaml.match(/\{\{/g)?.length).toBe(yaml.match(/\{\{(=sprig|inputs|node|tasks|workflow|retries)/g)?.length);
    expect(/[\u0000-\u0008\u000b-\u001f\u007f]/.test(yaml)).toBe(false);
  });
});
