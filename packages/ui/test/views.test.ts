/**
 * The Run page's own answers (the page answer with tasks as columns, one task's details, caching
 * of finished runs), nested pipelines in the graph, and the triggers view, through the API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend, runPipeline } from '@sluice/runner';
import { nightly, recordDecisions } from './fixtures/triggers.ts';
import { runGraph, UiData } from '../src/data.ts';
import { createUiApp } from '../src/server.ts';

const DEMO = resolve(import.meta.dirname, 'fixtures/demo.ts');
const NESTED = resolve(import.meta.dirname, 'fixtures/nested.ts');
let dir: string;
let store: string;
const ids = { demo: '', nested: '', fired: '' };
let app: ReturnType<typeof createUiApp>;
const get = (path: string, init?: RequestInit) => app.app.request(path, init);
const json = async (path: string) => {
  const r = await get(path);
  expect(r.status, `${path}: ${await r.clone().text()}`).toBe(200);
  return (await r.json()) as any;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-ui-views-'));
  store = join(dir, '.sluice');
  const d = await runPipeline(DEMO, { storeDir: store, mode: 'inprocess', entry: DEMO });
  const n = await runPipeline(NESTED, { storeDir: store, mode: 'inprocess', entry: NESTED });
  expect([d.status, n.status]).toEqual(['succeeded', 'succeeded']);
  Object.assign(ids, { demo: d.runId, nested: n.runId });
  app = createUiApp({ storeDir: store, pollMs: 50 });
});
afterAll(() => {
  app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the Run page answer', () => {
  it('has the run, its graph and every task in brief as columns, in DAG order, each naming its graph node', async () => {
    const p = await json(`/api/runs/${ids.demo}/page`);
    const full = await json(`/api/runs/${ids.demo}`);
    expect(p.run.id).toBe(ids.demo);
    expect(p.run.tasks).toBeUndefined();
    expect(p.run.counts).toEqual(full.counts);
    expect(p.tasks.key).toEqual(full.tasks.map((t: any) => t.key));
    expect(p.tasks.state.map((i: number) => p.tasks.states[i])).toEqual(full.tasks.map((t: any) => t.state));
    const fit = p.tasks.key.indexOf('sweep[1]/fit');
    expect(p.graph.nodes[p.tasks.node[fit]].id).toBe('fit');
    expect(p.graph).toEqual(await json(`/api/runs/${ids.demo}/graph`));
  });

  it('has the first artifacts of the run (consumers and all) and how many there are', async () => {
    const full = await json(`/api/runs/${ids.demo}`);
    expect(full.artifacts.length).toBeGreaterThan(3);
    const o = await new LocalBackend(store).getRunOverview(ids.demo, { artifactLimit: 3 });
    expect(o.artifacts).toEqual(full.artifacts.slice(0, 3));
    expect(o.artifactCount).toBe(full.artifacts.length);
    expect(o.artifacts.some((a) => a.consumers.length > 0)).toBe(true);
  });

  it("gives one task's details (attempts, cache, inputs) as the full view does; an unknown task is 404", async () => {
    const full = await json(`/api/runs/${ids.demo}`);
    const want = full.tasks.find((t: any) => t.key === 'sweep[1]/fit');
    expect(await json(`/api/runs/${ids.demo}/tasks/${encodeURIComponent('sweep[1]/fit')}`)).toEqual(want);
    const missing = await get(`/api/runs/${ids.demo}/tasks/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toMatch(/has no task "nope"/);
  });

  it('explains a cache miss of one task against the same task of the run before', async () => {
    const again = await runPipeline(DEMO, { storeDir: store, mode: 'inprocess', entry: DEMO, params: { rows: 5 } });
    const full = await json(`/api/runs/${again.runId}`);
    const one = await json(`/api/runs/${again.runId}/tasks/make-data`);
    expect(one.cache).toEqual(full.tasks.find((t: any) => t.key === 'make-data').cache);
    expect(one.cache).toMatchObject({ status: 'miss', reason: expect.stringMatching(/parameter rows changed/) });
  });

  it('lets a browser keep a finished run: ETag, then 304', async () => {
    const first = await get(`/api/runs/${ids.demo}/page`);
    const tag = first.headers.get('etag');
    expect(tag).toMatch(/^"[\w-]+"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const again = await get(`/api/runs/${ids.demo}/page`, { headers: { 'if-none-match': `W/${tag}` } });
    expect(again.status).toBe(304);
    // another run, another answer
    const other = await get(`/api/runs/${ids.nested}/page`, { headers: { 'if-none-match': tag as string } });
    expect(other.status).toBe(200);
  });

  it('serves the bundle under its hash as immutable, gzipped when asked', async () => {
    const html = await (await get('/')).text();
    const src = /src="(\/assets\/app\.js\?v=[\w-]+)"/.exec(html)?.[1] as string;
    const r = await get(src, { headers: { 'accept-encoding': 'gzip' } });
    expect(r.headers.get('cache-control')).toMatch(/immutable/);
    expect(r.headers.get('content-encoding')).toBe('gzip');
    expect((await get('/assets/app.js')).headers.get('cache-control')).toBe('no-cache');
  });
});

describe('nested pipelines in the graph', () => {
  it("draws a pipeline step as a group of its own tasks, ids kept apart from the outer pipeline's", async () => {
    const g = await json(`/api/runs/${ids.nested}/graph`);
    const byId = new Map(g.nodes.map((n: any) => [n.id, n]));
    expect([...byId.keys()]).toEqual(['step', 'prep', 'prep/step', 'prep/step-2', 'step-2']);
    expect(byId.get('prep')).toMatchObject({ kind: 'pipeline', pipeline: 'prep', parent: null, state: 'succeeded', inner: { succeeded: 2 } });
    expect(byId.get('prep/step')).toMatchObject({ kind: 'task', parent: 'prep', keys: ['prep/step'] });
    expect(byId.get('step')).toMatchObject({ parent: null, keys: ['step'] });
    expect(g.edges).toEqual(expect.arrayContaining([{ from: 'step', to: 'prep' }, { from: 'prep/step', to: 'prep/step-2' }, { from: 'prep', to: 'step-2' }]));
  });

  it("counts the inner tasks' states (failed, running) on the pipeline node", async () => {
    const ir = new UiData(store).ir(ids.nested);
    const g = runGraph(ir, [
      { key: 'step', state: 'succeeded' }, { key: 'prep', state: 'running' },
      { key: 'prep/step', state: 'failed' }, { key: 'prep/step-2', state: 'running' },
    ]);
    expect(g.nodes.find((n) => n.id === 'prep')).toMatchObject({ state: 'running', inner: { failed: 1, running: 1 } });
    expect(g.nodes.find((n) => n.id === 'step')).toMatchObject({ state: 'succeeded', counts: { succeeded: 1 } });
  });
});

describe('triggers', () => {
  it('is empty before the trigger daemon ran on the store', async () => {
    expect(await json('/api/triggers')).toEqual({ triggers: [] });
  });

  it('lists each trigger with its last decisions (fire, suppress, skip; reason, evidence) and the runs it started', async () => {
    const now = Date.UTC(2026, 11, 2, 3, 0, 0);
    const runId = 'nightly-0123456789ab';
    const r = await runPipeline(DEMO, { storeDir: store, mode: 'inprocess', entry: DEMO, runId });
    expect(r.status).toBe('succeeded');
    ids.fired = runId;
    recordDecisions(store, 'nightly', nightly(runId, now), now);
    const { triggers } = await json('/api/triggers');
    expect(triggers.map((t: any) => t.name)).toEqual(['nightly']);
    const t = triggers[0];
    expect(t.counts).toEqual({ fire: 1, suppress: 1, skip: 1 });
    expect(t.decisions.map((d: any) => d.kind)).toEqual(['suppress', 'fire', 'skip']); // newest first
    expect(t.decisions[1]).toMatchObject({ reason: 'scheduled tick', runId, dedupeKey: 'nightly|2026-12-02T03:00:00Z', evidence: { scheduledTime: '2026-12-02T03:00:00Z' }, at: new Date(now - 1000).toISOString() });
    expect(t.decisions[2].evidence).toEqual({ scheduledTime: '2026-12-02T02:00:00Z', catchUp: 3600 });
    expect(t.fires).toEqual([expect.objectContaining({ runId, fire: 'launched', runStatus: 'succeeded', params: { rows: 8 } })]);
    expect(t.state.lastFireAt).toBe(new Date(now).toISOString());
  });
});
