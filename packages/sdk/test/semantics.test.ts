/** The SDK writes decided semantics into the IR, and its parsing helpers follow them. */
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { canonicalJson, compareMode, component, mergeTaskOptions, parseDuration, parseParamText, parsePipelineParams, pipeline, taskIdFromNodeName, toIR } from '../src/index.ts';
import iris from './fixtures/iris.ts';

const num = component({ name: 'num', inputs: { x: z.number() }, outputs: { y: z.number(), s: z.string() }, run: async ({ x }) => ({ y: x, s: String(x) }) });

describe('semantics written into the IR', () => {
  it('writes the cache default (on) into taskDefaults, under the user\'s own task defaults', () => {
    expect(toIR(iris).options.taskDefaults?.cache).toEqual({ enabled: true });
    const off = pipeline({ name: 'off', params: {}, taskDefaults: { cache: false } }, () => { num({ x: 1 }); });
    expect(toIR(off).options.taskDefaults?.cache).toEqual({ enabled: false });
  });
  it('decides the comparison mode from declared types: a number output compares as a number, string operands as text', () => {
    const p = pipeline({ name: 'cmp', params: { mode: z.string() } }, ({ mode }, b) => {
      const t = num({ x: 1 });
      b.when(t.outputs.y.gt(9), () => num({ x: 2 }).named('a'));
      b.when(t.outputs.s.eq('9'), () => num({ x: 3 }).named('b'));
      b.when(mode.eq('10'), () => num({ x: 4 }).named('c'));
    });
    const modes = toIR(p).dag.filter((n) => n.kind === 'condition').map((n) => (n.kind === 'condition' && n.predicate.kind === 'compare' ? [n.predicate.as, compareMode(n.predicate)] : []));
    expect(modes).toEqual([['number', 'number'], ['text', 'text'], ['text', 'text']]);
  });
  it('refuses task ids that start with a digit', () => {
    const p = pipeline({ name: 'digits', params: {} }, () => { num({ x: 1 }).named('1st'); });
    expect(() => toIR(p)).toThrow(/"1st" starts with a digit/);
  });
  it('lists accumulate across option layers (the builder uses the same merge)', () => {
    const p = pipeline({ name: 'locks', params: {}, taskDefaults: { synchronization: { mutexes: ['a'] } } }, () => { num({ x: 1 }).mutex('b').mutex('c'); });
    const ir = toIR(p);
    const t = ir.dag[0]!;
    const eff = mergeTaskOptions(ir.options.taskDefaults, t.kind === 'task' ? t.options : {});
    expect(eff.synchronization).toEqual({ mutexes: ['a', 'b', 'c'] });
  });
});

describe('semantics helpers', () => {
  it('one duration grammar', () => {
    expect([parseDuration('1h30m'), parseDuration('90'), parseDuration(90), parseDuration('250ms'), parseDuration('2d'), parseDuration('soon'), parseDuration('-1s')]).toEqual([5400, 90, 90, 0.25, 172800, undefined, undefined]);
  });
  it('canonical JSON refuses NaN and Infinity instead of writing null', () => {
    expect(canonicalJson({ b: [1, null], a: 'x' })).toBe('{"a":"x","b":[1,null]}');
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson([Infinity])).toThrow(TypeError);
  });
  it('parses parameter text by the declared spec only (Argo\'s aggregated list of strings for numbers)', () => {
    const nums = { type: 'array' as const, schema: { type: 'array', items: { type: 'number' } } };
    expect(parseParamText('["9","1","4"]', nums)).toEqual([9, 1, 4]);
    expect(parseParamText('["9","x"]', nums)).toEqual([9, 'x']);
    expect(parseParamText('["9","1"]', { type: 'array', schema: { type: 'array', items: { type: 'string' } } })).toEqual(['9', '1']);
    expect(parseParamText('10', { type: 'string', schema: {} })).toBe('10');
  });
  it('reads the task id from an Argo node name', () => {
    expect(['wf.main.train', 'wf.main.lp(1:3).train(0)', 'wf-x.main.c0.sub.t-2'].map(taskIdFromNodeName)).toEqual(['train', 'train', 't-2']);
  });
  it('partial parameter parsing leaves required parameters out (a compiled template declares them for submission)', () => {
    expect(parsePipelineParams(iris, {}, { fromCli: true }).ok).toBe(false);
    expect(parsePipelineParams(iris, {}, { fromCli: true, partial: true })).toEqual({ ok: true, values: {} });
    expect(parsePipelineParams(iris, { minAccuracy: '0.5' }, { fromCli: true, partial: true })).toEqual({ ok: true, values: { minAccuracy: 0.5 } });
  });
});
