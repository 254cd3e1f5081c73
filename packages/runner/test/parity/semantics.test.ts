/**
 * The semantics parity table: one row per meaning the local engine and the compiled Argo workflow
 * share. Each row runs a small pipeline locally (runPipeline, or the dry run) AND inspects the
 * compiled manifest (compile()), reading the manifest the way Argo's controller and the kubelet
 * would (the models below follow Argo v4.0.5's operator: retry budget, `expression`, backoff `cap`
 * and `maxDuration`; `when` expressions; parameter substitution; Kubernetes `$(VAR)` expansion),
 * and asserts the same meaning on both sides. Function steps of the manifest are run through the
 * real executor (`parseExecArgs` + `runExec`) with the pod's arguments as Argo would substitute them.
 *
 * Every row failed on the main branch before the semantics were unified (see the commit message).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '@sluice/compiler';
import { parseExecArgs, runExec, type LoadedPipeline } from '@sluice/executor';
import { NonRetryableError, validatePipelineIR, type ComponentIR, type ContainerComponentIR, type NodeIR, type PipelineIR, type TaskOptionsIR } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { parseNvidiaSmiCsv } from '../../src/engine/gpu.ts';
import { planRun } from '../../src/plan.ts';
import { runPipeline, type RunEvent } from '../../src/index.ts';
import { fakeClock } from '../fake-clock.ts';
import { collect, fn, item, lit, out, param, paramSpec, pipeline, task, tmp } from '../helpers.ts';

// ---------------------------------------------------------------------------------------------
// Reading a manifest as Argo does.

type Obj = Record<string, unknown>;
interface Template { name: string; dag?: { tasks: DagTask[] }; container?: { image: string; command: string[]; args?: string[]; env?: Obj[] }; inputs?: { parameters?: Obj[]; artifacts?: Obj[] }; outputs?: Obj; retryStrategy?: RetryStrategy; memoize?: Obj; synchronization?: { mutexes?: { name: string }[] }; nodeSelector?: Record<string, string>; volumes?: Obj[] }
interface DagTask { name: string; template: string; when?: string; arguments?: { parameters?: { name: string; value: string }[]; artifacts?: Obj[] } }
interface RetryStrategy { limit: number; retryPolicy: string; expression?: string; backoff?: { duration: string; factor?: number; cap?: string; maxDuration?: string } }

function manifest(ir: PipelineIR): { templates: Map<string, Template>; entry: string; args: Obj[] } {
  const wf = compile(ir, { entry: 'p.ts', image: 'img' }).objects[0] as unknown as { spec: { entrypoint: string; templates: Template[]; arguments?: { parameters?: Obj[] } } };
  return { templates: new Map(wf.spec.templates.map((t) => [t.name, t])), entry: wf.spec.entrypoint, args: wf.spec.arguments?.parameters ?? [] };
}

function dagTask(m: ReturnType<typeof manifest>, name: string): DagTask {
  for (const t of m.templates.values()) for (const d of t.dag?.tasks ?? []) if (d.name === name) return d;
  throw new Error(`no DAG task ${name}`);
}

function leafOf(m: ReturnType<typeof manifest>, task: string): Template {
  return m.templates.get(dagTask(m, task).template)!;
}

/** Go's `time.ParseDuration` / Argo's `ParseStringToDuration`, in ms (what the manifest says to Argo). */
function argoMs(d: string): number {
  if (/^\d+$/.test(d)) return Number(d) * 1000;
  let ms = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms']!;
  return ms;
}

/**
 * Argo's retry loop for one node (operator.go processNodeRetries): attempts run instantly at
 * t = waits so far; returns the attempts and the waits, given each attempt's exit code and phase.
 */
function argoRetries(rs: RetryStrategy | undefined, outcome: (attempt: number) => { exitCode: string; phase: 'Failed' | 'Error' }): { attempts: number; waits: number[] } {
  const waits: number[] = [];
  let attempts = 1;
  if (!rs) return { attempts, waits };
  let t = 0;
  const first = 0;
  for (;;) {
    const last = outcome(attempts);
    if (rs.expression) {
      const m = /^lastRetry\.exitCode not in \[(.*)\]$/.exec(rs.expression);
      if (!m) throw new Error(`model cannot read expression ${rs.expression}`);
      const codes = m[1]!.split(',').map((s) => s.trim().replace(/^'|'$/g, ''));
      if (codes.includes(last.exitCode)) break;
    }
    const ok = rs.retryPolicy === 'Always' || (rs.retryPolicy === 'OnFailure' && last.phase === 'Failed') || (rs.retryPolicy === 'OnError' && last.phase === 'Error');
    if (!ok || attempts - 1 >= rs.limit) break;
    let wait = 0;
    if (rs.backoff) {
      wait = argoMs(rs.backoff.duration) * Math.pow(rs.backoff.factor ?? 1, attempts - 1);
      if (rs.backoff.cap) wait = Math.min(wait, argoMs(rs.backoff.cap));
      if (rs.backoff.maxDuration) {
        const deadline = first + argoMs(rs.backoff.maxDuration);
        if (t > deadline || t + wait > deadline) break;
      }
    }
    waits.push(wait);
    t += wait;
    attempts++;
  }
  return { attempts, waits };
}

/** Argo's substitution of `{{...}}` in a pod's fields, for the tags Sluice emits. */
function argoSubstitute(text: string, env: { inputs: Record<string, string>; vars: Record<string, string> }): string {
  return text.replace(/\{\{(=?)(.*?)\}\}/g, (_, isExpr: string, body: string) => {
    if (!isExpr) {
      const m = /^inputs\.parameters\.(.+)$/.exec(body);
      if (m) return env.inputs[m[1]!] ?? (() => { throw new Error(`unresolved ${body}`); })();
      if (body in env.vars) return env.vars[body]!;
      throw new Error(`model: unresolved {{${body}}}`);
    }
    let m = /^sprig\.b64enc\(inputs\.parameters\['(.+)'\]\)$/.exec(body);
    if (m) return Buffer.from(env.inputs[m[1]!]!, 'utf8').toString('base64');
    m = /^sprig\.replace\('\$', '\$\$', inputs\.parameters\['(.+)'\]\)$/.exec(body);
    if (m) return env.inputs[m[1]!]!.replaceAll('$', () => '$$');
    throw new Error(`model: cannot evaluate {{=${body}}}`);
  });
}

/** The kubelet's expansion of container command/args/env: `$(VAR)` from the container's env, `$$` to `$`. */
function kubeletExpand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name?: string) => (all === '$$' ? '$' : name !== undefined && name in env ? env[name]! : all));
}

/** Evaluates a compiled `when` (`{{=...}}` over workflow parameters) as Argo's expr does for these operators. */
function argoWhen(when: string, params: Record<string, string>): boolean {
  const body = /^\{\{=(.*)\}\}$/.exec(when)![1]!;
  const js = body.replace(/workflow\.parameters\['([^']+)'\]/g, (_, n: string) => JSON.stringify(params[n])).replace(/asFloat\(/g, 'Number(');
  return Boolean(new Function(`return (${js});`)());
}

/** Runs a compiled function step through the real executor, with its pod's arguments as Argo substitutes them. */
async function runPod(m: ReturnType<typeof manifest>, taskName: string, loaded: LoadedPipeline, o: { params?: Record<string, string>; vars?: Record<string, string>; dir?: string } = {}) {
  const d = dagTask(m, taskName);
  const leaf = m.templates.get(d.template)!;
  const inputs: Record<string, string> = {};
  for (const p of leaf.inputs?.parameters ?? []) if (typeof p.default === 'string') inputs[p.name as string] = p.default;
  for (const p of d.arguments?.parameters ?? []) {
    // cache-key parameters (memoize only) may be expressions over other tasks: they never reach the step
    if (p.name.startsWith('sluice-cache-')) { inputs[p.name] = 'key'; continue; }
    inputs[p.name] = argoSubstitute(p.value, { inputs: {}, vars: { ...o.params } }).replace(/^\{\{workflow\.parameters\.(.+)\}\}$/, (_, n: string) => o.params?.[n] ?? '');
  }
  const dir = o.dir ?? tmp('sluice-pod-');
  const vars = { 'workflow.uid': 'uid-1234', 'node.name': `wf-x.main.${taskName}`, retries: '0', ...o.vars };
  const argv = leaf.container!.args!.map((a) => argoSubstitute(a, { inputs, vars }).replace('/tmp/sluice/outputs', join(dir, 'outputs')).replace('/tmp/sluice/checkpoints', join(dir, 'ckpt')).replace('/tmp/sluice/inputs', join(dir, 'inputs')));
  const code = await runExec(parseExecArgs(argv), undefined, { loaded, signal: new AbortController().signal, preempted: () => false });
  const outputsDir = join(dir, 'outputs');
  const read = (name: string) => JSON.parse(readFileSync(join(outputsDir, 'parameters', name), 'utf8')) as unknown;
  return { code, read };
}

async function run(p: LoadedPipeline, o: Parameters<typeof runPipeline>[1] = {}) {
  const events: RunEvent[] = [];
  const r = await runPipeline(p, { storeDir: tmp(), mode: 'inprocess', clock: fakeClock(), onEvent: (e) => events.push(e), ...o });
  return { r, events };
}

// ---------------------------------------------------------------------------------------------

const add = fn('add', { inputs: { a: 'number', b: 'number' }, outputs: { sum: 'number' } }, async (i) => ({ sum: (i.a as number) + (i.b as number) }));

describe('semantics parity: local run and compiled Argo workflow mean the same', () => {
  it('1. cache default: a task without a cache option is cached on both sides (IR default: on)', async () => {
    const p = pipeline('cache-default', [add], [task('t', add, { a: lit(1), b: lit(2) })]);
    const storeDir = tmp();
    await run(p, { storeDir });
    const { r } = await run(p, { storeDir });
    const localCached = r.tasks.t?.state === 'cached';
    const argoMemoized = leafOf(manifest(p.ir), 't').memoize !== undefined;
    expect({ localCached, argoMemoized }).toEqual({ localCached: true, argoMemoized: true });
  });

  it('2a. backoff cap: `cap` bounds each wait, locally and as Argo backoff.cap', async () => {
    let n = 0;
    const flaky = fn('flaky', { outputs: { n: 'number' } }, async () => { n++; throw new Error('no'); });
    const retry = { limit: 3, on: 'always' as const, backoff: { duration: '10s', factor: 2, cap: '15s' } };
    const p = pipeline('backoff-cap', [flaky], [task('f', flaky, {}, [], { retry })]);
    const { events } = await run(p);
    const local = events.filter((e) => e.type === 'task.retrying').map((e) => e.delayMs);
    const argo = argoRetries(leafOf(manifest(p.ir), 'f').retryStrategy, () => ({ exitCode: '1', phase: 'Failed' }));
    expect({ local, localAttempts: n }).toEqual({ local: argo.waits, localAttempts: argo.attempts });
    expect(local).toEqual([10_000, 15_000, 15_000]);
  });

  it('2b. total cap: `maxDuration` bounds the whole retrying, locally and as Argo backoff.maxDuration', async () => {
    let n = 0;
    const flaky = fn('flaky', { outputs: { n: 'number' } }, async () => { n++; throw new Error('no'); });
    const retry = { limit: 5, on: 'always' as const, backoff: { duration: '10s', maxDuration: '25s' } };
    const p = pipeline('backoff-total', [flaky], [task('f', flaky, {}, [], { retry })]);
    await run(p);
    const argo = argoRetries(leafOf(manifest(p.ir), 'f').retryStrategy, () => ({ exitCode: '1', phase: 'Failed' }));
    expect({ localAttempts: n, argoAttempts: argo.attempts }).toEqual({ localAttempts: 3, argoAttempts: 3 });
  });

  it('3. retry budget: `limit: 2` is at most 3 attempts whatever fails; exit codes 2 and 3 are never retried', async () => {
    // attempts alternate: a user failure (the step throws), then a system failure (the executor itself breaks)
    let calls = 0;
    const mixed = fn('mixed', { outputs: { n: 'number' } }, async () => { throw new Error('user failure'); });
    const rt = mixed.runtime;
    const broken = { ...mixed, runtime: { ...rt, parseInputs: (v: Record<string, unknown>, path: string) => { calls++; if (calls % 2 === 0) throw new Error('system failure'); return rt.parseInputs(v, path); } } };
    const p = pipeline('budget', [broken], [task('m', broken, {}, [], { retry: { limit: 2, on: 'always' } })]);
    (p.runtimes as Map<string, unknown>).set(broken.hash, broken.runtime);
    const { r } = await run(p);
    const argo = argoRetries(leafOf(manifest(p.ir), 'm').retryStrategy, (a) => (a % 2 ? { exitCode: '1', phase: 'Failed' } : { exitCode: '-1', phase: 'Error' }));
    expect({ local: r.tasks.m?.attempts, argo: argo.attempts }).toEqual({ local: 3, argo: 3 });

    const fatal = fn('fatal', { outputs: { n: 'number' } }, async () => { throw new NonRetryableError('bad data'); });
    const q = pipeline('fatal', [fatal], [task('f', fatal, {}, [], { retry: { limit: 4, on: 'always' } })]);
    const { r: rq } = await run(q);
    const argoFatal = argoRetries(leafOf(manifest(q.ir), 'f').retryStrategy, () => ({ exitCode: '3', phase: 'Failed' }));
    const argoInvalid = argoRetries(leafOf(manifest(q.ir), 'f').retryStrategy, () => ({ exitCode: '2', phase: 'Failed' }));
    expect({ local: rq.tasks.f?.attempts, argo: argoFatal.attempts, argoInvalid: argoInvalid.attempts }).toEqual({ local: 1, argo: 1, argoInvalid: 1 });
  });

  it('4. comparisons of mixed types: by declared type, never by "looks numeric"', async () => {
    const branch = async (type: 'string' | 'number', value: string) => {
      const mark = fn('mark', { outputs: { b: 'string' } }, async () => ({ b: 'x' }));
      const dag: NodeIR[] = [{ kind: 'condition', id: 'c', after: [], predicate: { kind: 'compare', op: '>', left: param('v'), right: type === 'string' ? lit('9') : lit(9) }, then: [task('yes', mark)], else: [task('no', mark)] }];
      const p = pipeline(`cmp-${type}`, [mark], dag, { params: { v: paramSpec(type) } });
      const { r } = await run(p, { params: { v: type === 'string' ? value : Number(value) } });
      const local = r.tasks.yes?.state === 'succeeded' ? 'then' : 'else';
      const m = manifest(p.ir);
      const argo = argoWhen(dagTask(m, 'c').when!, { v: value }) ? 'then' : 'else';
      return { local, argo };
    };
    expect(await branch('string', '10')).toEqual({ local: 'else', argo: 'else' }); // "10" > "9" as text
    expect(await branch('number', '10')).toEqual({ local: 'then', argo: 'then' });
  });

  it('5. pod context: run id, attempt, task id, and a retry resuming from the checkpoint, in a pod as locally', async () => {
    const ctxStep = fn('ctx', { outputs: { ctx: 'object' } }, async (_i, ctx) => {
      if (ctx.attempt === 1) { await ctx.checkpoint.save({ step: 1 }); throw new Error('first attempt fails'); }
      return { ctx: { runId: ctx.runId, attempt: ctx.attempt, taskId: ctx.taskId, resumed: (await ctx.checkpoint.load()) ?? null } };
    });
    const p = pipeline('pod-ctx', [ctxStep], [task('train', ctxStep, {}, [], { retry: { limit: 1, on: 'always' } })], { outputs: { ctx: paramSpec('object') }, outputValues: { ctx: out('train', 'ctx') } });
    const { r } = await run(p);
    const local = r.outputs.ctx as { runId: string };
    const m = manifest(p.ir);
    const leaf = leafOf(m, 'train');
    // the checkpoint directory is loaded from and saved to one key of the artifact repository, under the run and the task
    const ckIn = leaf.inputs?.artifacts?.find((a) => a.name === 'sluice-checkpoint');
    const ckOut = (leaf.outputs as { artifacts?: Obj[] } | undefined)?.artifacts?.find((a) => a.name === 'sluice-checkpoint');
    expect(ckIn?.s3).toEqual(ckOut?.s3);
    expect(String((ckIn?.s3 as Obj | undefined)?.key)).toMatch(/\{\{workflow\.uid\}\}.*\{\{node\.name\}\}/);
    // two attempts of the pod (Argo's {{retries}} 0 then 1), sharing what the repository keeps under that key
    const repo = tmp('sluice-repo-');
    expect((await runPod(m, 'train', p, { vars: { retries: '0' }, dir: repo })).code).toBe(1);
    const pod2 = await runPod(m, 'train', p, { vars: { retries: '1' }, dir: repo });
    expect(pod2.code).toBe(0);
    const pod = pod2.read('ctx') as { runId: string };
    expect({ ...pod, runId: 'run' }).toEqual({ ...local, runId: 'run' });
    expect(local).toEqual({ runId: r.runId, attempt: 2, taskId: 'train', resumed: { step: 1 } });
    expect(pod.runId).toBe('uid-1234');
  });

  it('6. IR validation: an IR compile() refuses (duplicate ids, an `after` naming nothing) is refused by the runner too', async () => {
    const dup = pipeline('dup', [add], [task('t', add, { a: lit(1), b: lit(1) }), task('t', add, { a: lit(1), b: lit(1) }, ['ghost'])]);
    expect(() => compile(dup.ir, { entry: 'p.ts', image: 'img' })).toThrow(/duplicate name "t"/);
    await expect(run(dup)).rejects.toThrow(/duplicate name "t"/);
    await expect(planRun(dup, { storeDir: tmp() })).rejects.toThrow(/duplicate name "t"/);
  });

  it('7. list-valued options across layers: mutexes, volumes and tolerations accumulate (pipeline defaults + component + task)', async () => {
    const comp = fn('lock', { outputs: { n: 'number' }, defaults: { synchronization: { mutexes: ['c'] }, tolerations: [{ key: 'gpu', operator: 'Exists' }] } }, async () => ({ n: 1 }));
    const options: TaskOptionsIR = { synchronization: { mutexes: ['b'] }, volumes: [{ kind: 'emptyDir', name: 'scratch', mountPath: '/scratch' }] };
    const p = pipeline('lists', [comp], [task('t', comp, {}, [], options)], {
      options: { taskDefaults: { synchronization: { mutexes: ['a'] }, volumes: [{ kind: 'emptyDir', name: 'cache', mountPath: '/cache' }], tolerations: [{ key: 'spot', operator: 'Exists' }] } },
    });
    const plan = await planRun(p, { storeDir: tmp() });
    const local = plan.steps.find((s) => s.key === 't')?.locks;
    const leaf = leafOf(manifest(p.ir), 't');
    const argo = (leaf.synchronization?.mutexes ?? []).map((x) => `mutex ${x.name}`);
    expect({ local, argo }).toEqual({ local: ['mutex a', 'mutex b', 'mutex c'], argo: ['mutex a', 'mutex b', 'mutex c'] });
    expect((leaf.volumes ?? []).map((v) => v.name)).toEqual(['cache', 'scratch']);
    expect(((leaf as unknown as { tolerations?: Obj[] }).tolerations ?? []).map((t) => t.key)).toEqual(['spot', 'gpu']);
    const { r } = await run(p);
    expect(r.status).toBe('succeeded');
  });

  it('8. dry run vs run: the plan and the run agree on a cache entry older than maxAge (and Argo gets the same maxAge)', async () => {
    const p = pipeline('max-age', [add], [task('t', add, { a: lit(1), b: lit(2) }, [], { cache: { enabled: true, maxAge: '1h' } })]);
    const storeDir = tmp();
    const clock = fakeClock();
    await runPipeline(p, { storeDir, mode: 'inprocess', clock });
    clock.advance(2 * 3_600_000);
    const plan = await planRun(p, { storeDir, now: clock.now() });
    const r = await runPipeline(p, { storeDir, mode: 'inprocess', clock });
    const planned = plan.steps.find((s) => s.key === 't')?.decision;
    expect({ planned, ran: r.tasks.t?.state }).toEqual({ planned: 'run', ran: 'succeeded' });
    expect(leafOf(manifest(p.ir), 't').memoize?.maxAge).toBe('3600s');
  });

  it('9. container argv: every ArgIR kind means the same (inputPath of a parameter is a file holding its text; `$` reaches the step as written)', async () => {
    const echo: ContainerComponentIR = {
      kind: 'container', name: 'echo', image: 'node:20', defaults: {},
      inputs: { msg: paramSpec('string'), n: paramSpec('number') }, outputs: { out: paramSpec('string') },
      command: [
        { kind: 'literal', value: process.execPath }, { kind: 'literal', value: '-e' },
        { kind: 'literal', value: 'const fs=require("fs");const [o,...a]=process.argv.slice(1);fs.writeFileSync(o,JSON.stringify(a.map((x)=>fs.existsSync(x)&&x.includes("inputs")?"file:"+fs.readFileSync(x,"utf8"):x)))' },
        { kind: 'outputPath', output: 'out' }, { kind: 'inputValue', input: 'msg' }, { kind: 'inputPath', input: 'msg' },
        { kind: 'concat', parts: [{ kind: 'literal', value: 'n=' }, { kind: 'inputValue', input: 'n' }] }, { kind: 'literal', value: 'price $5' },
      ],
    };
    const c = { hash: 'echo0000000000000', ir: echo as ComponentIR };
    const msg = '$(HOME) costs $$5';
    const p = pipeline('argv', [c], [task('e', c, { msg: lit(msg), n: lit(3) })], { outputs: { out: paramSpec('string') }, outputValues: { out: out('e', 'out') } });
    const { r } = await run(p, { containers: 'host' });
    expect(r.status).toBe('succeeded');
    const local = JSON.parse(r.outputs.out as string) as string[];
    // the pod: Argo substitutes the template, the kubelet expands $(VAR) and $$, raw artifacts become files
    const m = manifest(p.ir);
    const d = dagTask(m, 'e');
    const leaf = m.templates.get(d.template)!;
    const inputs = Object.fromEntries((d.arguments?.parameters ?? []).map((x) => [x.name, x.value]));
    const env = { HOME: '/root' };
    const argv = leaf.container!.command.map((a) => kubeletExpand(argoSubstitute(a, { inputs, vars: {} }), env));
    const raw = leaf.inputs!.artifacts!.find((a) => a.name === 'msg-file') as { path: string; raw: { data: string } };
    const pod = argv.slice(4).map((x) => (x === raw.path ? `file:${argoSubstitute(raw.raw.data, { inputs, vars: {} })}` : x));
    expect(pod).toEqual(local);
    expect(local).toEqual([msg, `file:${msg}`, 'n=3', 'price $5']);
  });

  it('C. encoded literals: what a function step receives is what it was given, in a pod and locally ("{{", control characters, the old in-band marker)', async () => {
    const got: string[] = [];
    const note = fn('note', { inputs: { text: 'string' }, outputs: { n: 'number' } }, async (i) => { got.push(i.text as string); return { n: 1 }; });
    const texts = ['sluice:b64:aGVsbG8=', '{{workflow.name}}', 'nul \u0000 soh \u0001 del \u007f', '$(HOME) $$'];
    const p = pipeline('literals', [note], texts.map((t, i) => task(`n${i}`, note, { text: lit(t) })));
    await run(p);
    const local = [...got];
    got.length = 0;
    const m = manifest(p.ir);
    for (let i = 0; i < texts.length; i++) expect((await runPod(m, `n${i}`, p)).code).toBe(0);
    expect({ local, pod: got }).toEqual({ local: texts, pod: texts });
  });

  it('C. an empty pipeline is refused by the runner and the compiler alike', async () => {
    const p = pipeline('empty', [], []);
    expect(validatePipelineIR(p.ir).map((i) => i.code)).toEqual(['pipeline.empty']);
    expect(() => compile(p.ir, { entry: 'p.ts', image: 'img' })).toThrow(/has no tasks/);
    await expect(run(p)).rejects.toThrow(/has no tasks/);
  });

  it('D. a loop\'s collected numbers reach the collecting step as numbers (Argo hands a JSON list of strings)', async () => {
    const mk = fn('mk', { inputs: { x: 'number' }, outputs: { y: 'number' } }, async (i) => ({ y: i.x as number }));
    const total = fn('total', { inputs: { ys: 'array' }, outputs: { s: 'number' } }, async (i) => ({ s: (i.ys as number[]).reduce((a, b) => { if (typeof b !== 'number') throw new Error(`not a number: ${JSON.stringify(b)}`); return a + b; }, 0) }));
    const ysSpec = { kind: 'parameter' as const, type: 'array' as const, schema: { type: 'array', items: { type: 'number' } }, optional: false };
    const totalIr = { ...total.ir, inputs: { ys: ysSpec } };
    const t2 = { ...total, ir: totalIr, runtime: { ...total.runtime, ir: totalIr } };
    const p = pipeline('fanin', [mk, t2], [
      { kind: 'loop', id: 'lp', items: lit([9, 1, 4]), after: [], body: [task('m', mk, { x: item('lp') })] },
      task('sum', t2, { ys: collect('lp', 'm', 'y') }),
    ], { outputs: { s: paramSpec('number') }, outputValues: { s: out('sum', 's') } });
    const { r } = await run(p);
    const m = manifest(p.ir);
    // Argo's aggregated parameter of the loop: a JSON list of the iterations' outputs, as strings
    const d = dagTask(m, 'sum');
    const leaf = m.templates.get(d.template)!;
    const inputs = { ys: '["9","1","4"]' };
    const dir = tmp('sluice-pod-');
    mkdirSync(dir, { recursive: true });
    const argv = leaf.container!.args!.map((a) => argoSubstitute(a, { inputs, vars: { 'workflow.uid': 'u', 'node.name': 'wf.main.sum' } }).replace('/tmp/sluice/outputs', join(dir, 'o')));
    const code = await runExec(parseExecArgs(argv), undefined, { loaded: p, signal: new AbortController().signal, preempted: () => false });
    expect({ code, pod: JSON.parse(readFileSync(join(dir, 'o', 'parameters', 's'), 'utf8')), local: r.outputs.s }).toEqual({ code: 0, pod: 14, local: 14 });
  });

  it('D. an artifact chosen by a condition (oneOf) reaches the step without fromExpression on DAG arguments (Argo refuses it)', async () => {
    const make = fn('make', { inputs: { tag: 'string' }, outputs: { m: 'artifact:Model' } }, async (i, ctx) => { await (ctx.outputs.m as { write(t: string): Promise<void> }).write(`model ${i.tag as string}`); return {}; });
    const use = fn('use', { inputs: { m: 'artifact:Model' }, outputs: { text: 'string' } }, async (i) => ({ text: readFileSync((i.m as { path: string }).path, 'utf8') }));
    const dag: NodeIR[] = [
      { kind: 'condition', id: 'c', after: [], predicate: { kind: 'compare', op: '>', left: param('x'), right: lit(1) }, then: [task('big', make, { tag: lit('big') })], else: [task('small', make, { tag: lit('small') })] },
      task('use', use, { m: { kind: 'oneOf', condition: 'c', options: [{ kind: 'output', task: 'big', output: 'm' }, { kind: 'output', task: 'small', output: 'm' }] } }),
    ];
    const p = pipeline('one-of', [make, use], dag, { params: { x: paramSpec('number') }, outputs: { text: paramSpec('string') }, outputValues: { text: out('use', 'text') } });
    const { r } = await run(p, { params: { x: 5 } });
    const m = manifest(p.ir);
    const d = dagTask(m, 'use');
    expect(d.arguments?.artifacts?.some((a) => 'fromExpression' in a)).toBe(false);
    // the branch that ran (then: big) resolves its optional argument; Argo places only that one
    const placed = d.arguments!.artifacts!.filter((a) => String(a.from).includes('.big-m') || String(a.from).includes('artifacts.m}}'));
    expect(placed).toHaveLength(1);
    const leaf = m.templates.get(d.template)!;
    const input = leaf.inputs!.artifacts!.find((a) => a.name === placed[0]!.name) as { path: string };
    const dir = tmp('sluice-pod-');
    const file = input.path.replace('/tmp/sluice/inputs', join(dir, 'inputs'));
    mkdirSync(join(dir, 'inputs'), { recursive: true });
    writeFileSync(file, 'model big');
    const pod = await runPod(m, 'use', p, { dir });
    expect({ code: pod.code, pod: readFileSync(join(dir, 'outputs', 'parameters', 'text'), 'utf8'), local: r.outputs.text }).toEqual({ code: 0, pod: 'model big', local: 'model big' });
  });

  it('10. task ids starting with a digit are refused by the SDK validator, the runner and the compiler alike', async () => {
    const p = pipeline('digits', [add], [task('1st', add, { a: lit(1), b: lit(2) })]);
    expect(validatePipelineIR(p.ir).map((i) => i.code)).toEqual(['id.invalid']);
    expect(() => compile(p.ir, { entry: 'p.ts', image: 'img' })).toThrow(/"1st" starts with a digit/);
    await expect(run(p)).rejects.toThrow(/"1st" starts with a digit/);
  });

  it('11. GPU type: Argo selects nodes by it, the local runner checks the detected model the same way', async () => {
    const names = parseNvidiaSmiCsv(readFileSync('/work/shared/gpu/query-gpu.csv', 'utf8')).map((g) => g.name!);
    const gpuTask = (type: string) => pipeline(`gpu-${type.toLowerCase().slice(7, 11)}`, [add], [task('fit', add, { a: lit(1), b: lit(2) }, [], { resources: { gpu: { count: 1, type } } })]);
    for (const [type, fits] of [['NVIDIA-H100-80GB-HBM3', true], ['NVIDIA-A100-SXM4-80GB', false]] as const) {
      const p = gpuTask(type);
      const argo = leafOf(manifest(p.ir), 'fit').nodeSelector?.['nvidia.com/gpu.product'];
      expect(argo).toBe(type);
      const local = await run(p, { gpus: ['0'], gpuNames: names }).then(({ r }) => r.status, (e: Error) => e.message);
      if (fits) expect(local).toBe('succeeded');
      else expect(local).toMatch(/wants 1 GPU of type NVIDIA-A100-SXM4-80GB \(on Argo: nodeSelector nvidia\.com\/gpu\.product=NVIDIA-A100-SXM4-80GB\), but this machine has 0: NVIDIA H100 80GB HBM3/);
    }
  });
});
