import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { component, pipeline, Dataset, NonRetryableError } from '@sluice/sdk';
import { openStore, runPipeline } from '../src/index.ts';

const make = component({
  name: 'make', inputs: { n: z.number().int(), fail: z.boolean() }, outputs: { data: Dataset, n: z.number() },
  async run({ n, fail }, ctx) {
    if (fail) throw new NonRetryableError('asked to fail');
    await ctx.outputs.data.write(`${n}\n`);
    return { n };
  },
});
const count = component({
  name: 'count', inputs: { data: Dataset }, outputs: { lines: z.number() },
  async run({ data }) { return { lines: (await data.readText()).trim().split('\n').length }; },
});
const a = pipeline({ name: 'client-a', params: { n: z.number().int().default(1), fail: z.boolean().default(false) } }, ({ n, fail }) => {
  const m = make({ n, fail });
  return { lines: count({ data: m.outputs.data }).outputs.lines, data: m.outputs.data };
});
const b = pipeline({ name: 'client-b', params: {} }, () => ({ data: make({ n: 9, fail: false }).outputs.data }));

const store = mkdtempSync(join(tmpdir(), 'sluice-client-'));
afterAll(() => rmSync(store, { recursive: true, force: true }));
const ids: Record<string, string> = {};

beforeAll(async () => {
  const o = { storeDir: store, mode: 'inprocess' as const };
  ids.a1 = (await runPipeline(a, { ...o, params: { n: 1 } })).runId;
  ids.b1 = (await runPipeline(b, { ...o, params: {} })).runId;
  ids.a2 = (await runPipeline(a, { ...o, params: { n: 2 } })).runId;
  ids.aFail = (await runPipeline(a, { ...o, params: { n: 3, fail: true } })).runId;
});

describe('openStore (the query layer the CLI prints from)', () => {
  it('lists runs newest first, filtered by pipeline and status', () => {
    const s = openStore(store);
    try {
      expect(s.runs.list().map((r) => r.id)).toEqual([ids.aFail, ids.a2, ids.b1, ids.a1]);
      expect(s.runs.list({ pipeline: 'client-a' }).map((r) => r.id)).toEqual([ids.aFail, ids.a2, ids.a1]);
      expect(s.runs.list({ pipeline: 'client-a', status: 'succeeded' }).map((r) => r.id)).toEqual([ids.a2, ids.a1]);
      expect(s.runs.list({ status: 'failed' }).map((r) => [r.id, r.error !== null])).toEqual([[ids.aFail, true]]);
      expect(s.runs.list({ limit: 1 }).map((r) => r.id)).toEqual([ids.aFail]);
    } finally {
      s.close();
    }
  });

  it('reads a run: params, tasks, attempts, outputs and lineage', () => {
    const s = openStore(store);
    try {
      const run = s.runs.get(ids.a2!);
      expect(run.status).toBe('succeeded');
      expect(run.params).toEqual({ n: 2, fail: false });
      expect(run.outputs?.lines).toBe(1);
      expect(run.tasks.map((t) => [t.key, t.state, t.attempts.map((x) => x.outcome)])).toEqual([['make', 'succeeded', ['succeeded']], ['count', 'succeeded', ['succeeded']]]);
      expect(run.tasks.find((t) => t.key === 'make')?.outputs?.n).toBe(2);
      const data = run.artifacts.find((a) => a.task === 'make');
      expect(data).toMatchObject({ type: 'Dataset', output: 'data', consumers: ['count.data'] });
      expect((run.outputs?.data as { hash: string }).hash).toBe(data?.hash);
      expect(s.runs.get('latest').id).toBe(ids.aFail);
      const failed = s.runs.get(ids.aFail!);
      expect(failed.tasks.find((t) => t.key === 'make')).toMatchObject({ state: 'failed', attempts: [{ n: 1, outcome: 'nonretryable' }] });
      expect(() => s.runs.get('no-such-run')).toThrow(/no run "no-such-run"/);
    } finally {
      s.close();
    }
  });
});
