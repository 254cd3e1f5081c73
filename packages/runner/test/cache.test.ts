import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/index.ts';
import { StateStore } from '../src/store/state.ts';
import { fn, lit, out, param, paramSpec, pipeline, task, tmp } from './helpers.ts';
import { join } from 'node:path';

const mk = (code: string, counter: { n: number }) => fn('double', { inputs: { x: 'number' }, outputs: { y: 'number', data: 'artifact:Dataset' }, code }, async (i, ctx) => {
  counter.n++;
  await (ctx.outputs.data as { write(s: string): Promise<void> }).write(`v=${i.x}`);
  return { y: (i.x as number) * 2 };
});
const use = fn('use', { inputs: { d: 'artifact:Dataset' }, outputs: { t: 'string' } }, async (i) => ({ t: await (i.d as { readText(): Promise<string> }).readText() }));

function pl(code: string, counter: { n: number }, version?: string) {
  const d = mk(code, counter);
  return pipeline('cachep', [d, use], [task('d', d, { x: param('x') }, [], version ? { cache: { enabled: true, version } } : {}), task('u', use, { d: out('d', 'data') })], { params: { x: paramSpec('number', 1) }, outputValues: { y: out('d', 'y'), t: out('u', 't') } });
}

function missOf(dir: string, runId: string, key: string): string | null {
  const s = StateStore.open(join(dir, 'state.db'), { readonly: true });
  try {
    return s.cacheMisses(s.findRun(runId)).get(key) ?? null;
  } finally {
    s.close();
  }
}

describe('cache', () => {
  it('reuses outputs on a hit and explains each miss', async () => {
    const dir = tmp();
    const c = { n: 0 };
    const r1 = await runPipeline(pl('v1', c), { storeDir: dir, mode: 'inprocess', params: { x: 2 } });
    expect(r1.outputs).toMatchObject({ y: 4, t: 'v=2' });
    expect(missOf(dir, r1.runId, 'd')).toBe('first run of this task');
    const r2 = await runPipeline(pl('v1', c), { storeDir: dir, mode: 'inprocess', params: { x: 2 } });
    expect(c.n).toBe(1);
    expect(r2.tasks.d?.state).toBe('cached');
    expect(r2.tasks.u?.state).toBe('cached');
    expect(r2.outputs).toMatchObject({ y: 4, t: 'v=2' });
    const r3 = await runPipeline(pl('v1', c), { storeDir: dir, mode: 'inprocess', params: { x: 3 } });
    expect(r3.tasks.d?.state).toBe('succeeded');
    expect(missOf(dir, r3.runId, 'd')).toBe('parameter x changed');
    expect(missOf(dir, r3.runId, 'u')).toMatch(/^artifact d content changed \([0-9a-f]{12} → [0-9a-f]{12}\)$/);
    const r4 = await runPipeline(pl('v2', c), { storeDir: dir, mode: 'inprocess', params: { x: 3 } });
    expect(missOf(dir, r4.runId, 'd')).toBe('the component code changed');
    const r5 = await runPipeline(pl('v2', c, '2'), { storeDir: dir, mode: 'inprocess', params: { x: 3 } });
    expect(missOf(dir, r5.runId, 'd')).toBe('cache version changed ("" → "2")');
    const r6 = await runPipeline(pl('v2', c, '2'), { storeDir: dir, mode: 'inprocess', params: { x: 3 }, noCache: true });
    expect(r6.tasks.d?.state).toBe('succeeded');
    expect(missOf(dir, r6.runId, 'd')).toMatch(/^same key as before/);
    expect(c.n).toBe(5);
  });

  it('does not cache tasks with cache disabled', async () => {
    const dir = tmp();
    let n = 0;
    const f = fn('f', { outputs: { n: 'number' } }, async () => ({ n: ++n }));
    const p = pipeline('nocache', [f], [task('f', f, {}, [], { cache: { enabled: false } })], { outputValues: { n: out('f', 'n') } });
    await runPipeline(p, { storeDir: dir, mode: 'inprocess' });
    const r = await runPipeline(p, { storeDir: dir, mode: 'inprocess' });
    expect(r.outputs.n).toBe(2);
    void lit;
  });
});
