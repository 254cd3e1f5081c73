/**
 * Cache key parity: a task the local engine serves from its cache on a second run is exactly a
 * task whose compiled Argo `memoize.key` (resolved as Argo's controller resolves it: template
 * parameters substituted, `sprig.sha256sum(sprig.toJson([...]))` evaluated) is the same as the
 * first run's. Both sides take the key's meaning from the SDK (`semantics/cache.ts`: component
 * identity, version, custom key, code part); the inputs part is each side's own encoding of the
 * same input values. Every resolved key must also be one Argo v4.0.5's ConfigMap cache accepts
 * (`^[a-zA-Z0-9][-a-zA-Z0-9]*$`, at most 253 characters), or the node errors with "invalid cache key".
 */
import { createHash } from 'node:crypto';
import { compile } from '@sluice/compiler';
import type { LoadedPipeline } from '@sluice/executor';
import { ARGO_MEMO_KEY, ARGO_MEMO_KEY_MAX, type CacheIR, type PipelineIR } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { planRun } from '../../src/plan.ts';
import { runPipeline } from '../../src/index.ts';
import { fakeClock } from '../fake-clock.ts';
import { fn, lit, param, pipeline, task, tmp, type Fn } from '../helpers.ts';

type Obj = Record<string, unknown>;
interface Template { name: string; dag?: { tasks: { name: string; template: string; arguments?: { parameters?: { name: string; value: string }[] } }[] }; inputs?: { parameters?: { name: string; default?: string }[] }; memoize?: { key: string; maxAge: string; cache: { configMap: { name: string } } } }

/** Go's json.Marshal of a []string (sprig.toJson): JSON with <, > and & escaped. */
function goJson(list: readonly string[]): string {
  return JSON.stringify(list).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/** The memoize key of task `name` as Argo resolves it when the node is about to run, given the workflow's parameters. */
function argoKey(ir: PipelineIR, name: string, o: { codeHash?: string; params?: Record<string, string> } = {}): string {
  const wf = compile(ir, { entry: 'p.ts', image: 'img', ...(o.codeHash ? { codeHash: o.codeHash } : {}) }).objects[0] as unknown as { spec: { templates: Template[]; arguments?: { parameters?: { name: string; value?: string }[] } } };
  const templates = new Map(wf.spec.templates.map((t) => [t.name, t]));
  const dagTask = [...templates.values()].flatMap((t) => t.dag?.tasks ?? []).find((t) => t.name === name);
  if (!dagTask) throw new Error(`no DAG task ${name}`);
  const leaf = templates.get(dagTask.template)!;
  if (!leaf.memoize) return '(not memoized)';
  const wfParams: Record<string, string> = {};
  for (const p of wf.spec.arguments?.parameters ?? []) if (p.value !== undefined) wfParams[p.name] = p.value;
  Object.assign(wfParams, o.params);
  const inputs: Record<string, string> = {};
  for (const p of leaf.inputs?.parameters ?? []) if (p.default !== undefined) inputs[p.name] = p.default;
  for (const p of dagTask.arguments?.parameters ?? []) {
    inputs[p.name] = p.value.replace(/\{\{workflow\.parameters\.([^}]+)\}\}/g, (_, n: string) => {
      if (!(n in wfParams)) throw new Error(`model: no workflow parameter ${n}`);
      return wfParams[n]!;
    });
    if (inputs[p.name]!.includes('{{')) throw new Error(`model cannot resolve ${p.value}`);
  }
  const key = leaf.memoize.key.replace(/\{\{=sprig\.sha256sum\(sprig\.toJson\(\[(.*?)\]\)\)\}\}/g, (_, list: string) => {
    const values = list.split(', ').map((x) => {
      const m = /^inputs\.parameters\['(.+)'\]$/.exec(x);
      if (!m || !(m[1]! in inputs)) throw new Error(`model cannot read ${x}`);
      return inputs[m[1]!]!;
    });
    return createHash('sha256').update(goJson(values)).digest('hex');
  });
  if (key.includes('{{')) throw new Error(`model cannot evaluate ${key}`);
  return key;
}

const add = fn('add', { inputs: { a: 'number', b: 'number' }, outputs: { sum: 'number' } }, async (i) => ({ sum: (i.a as number) + (i.b as number) }));
// the same run() code under another component name (and another component hash)
const plus = fn('plus', { inputs: { a: 'number', b: 'number' }, outputs: { sum: 'number' }, code: 'add' }, async (i) => ({ sum: (i.a as number) + (i.b as number) }));
// other code
const add2 = fn('add', { inputs: { a: 'number', b: 'number' }, outputs: { sum: 'number' }, code: 'add, version 2' }, async (i) => ({ sum: (i.a as number) + (i.b as number) }));

interface Variant { id?: string; comp?: Fn; a?: number; b?: number | 'param'; cache?: CacheIR; x?: number }
function build(v: Variant): LoadedPipeline {
  const c = v.comp ?? add;
  const b = v.b === 'param' ? param('x') : lit(v.b ?? 2);
  return pipeline('cachekey', [c], [task(v.id ?? 't', c, { a: lit(v.a ?? 1), b }, [], v.cache ? { cache: v.cache } : {})], v.b === 'param' ? { params: { x: { kind: 'parameter', type: 'number', schema: {}, optional: false, default: 5 } } as never } : {});
}

async function localHit(first: Variant, second: Variant): Promise<boolean> {
  const storeDir = tmp();
  const o = (v: Variant) => ({ storeDir, mode: 'inprocess' as const, clock: fakeClock(), ...(v.x !== undefined ? { params: { x: v.x } } : {}) });
  await runPipeline(build(first), o(first));
  const r = await runPipeline(build(second), o(second));
  return r.tasks[second.id ?? 't']?.state === 'cached';
}

const argoParams = (v: Variant) => (v.x !== undefined ? { params: { x: String(v.x) } } : {});

describe('cache key parity: a local cache hit is an Argo memoize hit, and a miss a miss', () => {
  const rows: [string, Variant, Variant, boolean][] = [
    ['the same task again', {}, {}, true],
    ['another literal input value', {}, { a: 7 }, false],
    ['another pipeline parameter value', { b: 'param', x: 5 }, { b: 'param', x: 6 }, false],
    ['the same pipeline parameter value', { b: 'param', x: 5 }, { b: 'param', x: 5 }, true],
    ['the task renamed (the task id is not part of the key)', {}, { id: 'renamed' }, true],
    ['the component renamed, same run() code', {}, { comp: plus }, true],
    ['other run() code', {}, { comp: add2 }, false],
    ['cache.version bumped', { cache: { enabled: true, version: '1' } }, { cache: { enabled: true, version: '2' } }, false],
    ['a custom key, other inputs (the key replaces them)', { cache: { enabled: true, key: 'k v/1' } }, { a: 9, cache: { enabled: true, key: 'k v/1' } }, true],
    ['another custom key', { cache: { enabled: true, key: 'k v/1' } }, { cache: { enabled: true, key: 'k v/2' } }, false],
  ];
  for (const [title, first, second, expected] of rows) {
    it(`${title}: ${expected ? 'hit' : 'miss'} on both sides`, async () => {
      const local = await localHit(first, second);
      const k1 = argoKey(build(first).ir, first.id ?? 't', argoParams(first));
      const k2 = argoKey(build(second).ir, second.id ?? 't', argoParams(second));
      expect({ local, argo: k1 === k2 }).toEqual({ local: expected, argo: expected });
      for (const k of [k1, k2]) {
        expect(k).toMatch(ARGO_MEMO_KEY);
        expect(k.length).toBeLessThanOrEqual(ARGO_MEMO_KEY_MAX);
      }
    });
  }

  it('the code part (the bundled module graph\'s hash) is in a function step\'s key on both sides', async () => {
    const p = build({});
    const storeDir = tmp();
    await runPipeline(p, { storeDir, mode: 'inprocess', clock: fakeClock() });
    const same = await planRun(p, { storeDir, now: Date.now() });
    const changed = await planRun(p, { storeDir, now: Date.now(), codeHash: 'a'.repeat(64) });
    const cachedIn = (plan: Awaited<ReturnType<typeof planRun>>) => plan.steps.find((st) => st.key === 't')?.decision === 'cached';
    expect({ withoutCode: cachedIn(same), withCode: cachedIn(changed) }).toEqual({ withoutCode: true, withCode: false });
    const keys = ['', 'a'.repeat(64), 'b'.repeat(64)].map((c) => argoKey(p.ir, 't', c ? { codeHash: c } : {}));
    expect(new Set(keys).size).toBe(3);
  });

  it('maxAge and the ConfigMap cache: from the cache option, one valid ConfigMap name per pipeline', () => {
    const wf = compile(build({ cache: { enabled: true, maxAge: '1h30m' } }).ir, { entry: 'p.ts', image: 'img' }).objects[0] as unknown as { spec: { templates: Template[] } };
    const leaf = wf.spec.templates.find((t) => t.memoize)!;
    expect(leaf.memoize!.maxAge).toBe('5400s');
    expect(leaf.memoize!.cache.configMap.name).toBe('sluice-cache-cachekey');
    const off = compile(build({ cache: { enabled: false } }).ir, { entry: 'p.ts', image: 'img' }).objects[0] as unknown as { spec: { templates: (Template & Obj)[] } };
    expect(off.spec.templates.some((t) => t.memoize)).toBe(false);
  });
});
