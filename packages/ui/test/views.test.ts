/**
 * The Run page's own answers (the page answer with tasks as columns, one task's details, caching
 * of finished runs), nested pipelines in the graph, and the triggers view, through the API.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend, runPipeline } from '@sluice/runner';
import { useUiApp } from './fixtures/app.ts';
import type { Decision } from '@sluice/triggers';
import { driftReport, nightly, recordDecisions } from './fixtures/triggers.ts';
import { runGraph, UiData } from '../src/data.ts';
import { layoutGraph } from '../src/layout.ts';
import { FRAME_CSP } from '../src/server.ts';

const DEMO = resolve(import.meta.dirname, 'fixtures/demo.ts');
const NESTED = resolve(import.meta.dirname, 'fixtures/nested.ts');
const ids = { demo: '', nested: '', fired: '' };
const ui = useUiApp('views', async ({ store }) => {
  const d = await runPipeline(DEMO, { storeDir: store, mode: 'inprocess', entry: DEMO });
  const n = await runPipeline(NESTED, { storeDir: store, mode: 'inprocess', entry: NESTED });
  expect([d.status, n.status]).toEqual(['succeeded', 'succeeded']);
  Object.assign(ids, { demo: d.runId, nested: n.runId });
});
const { get, json } = ui;

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
    const o = await new LocalBackend(ui.store).getRunOverview(ids.demo, { artifactLimit: 3 });
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
    const again = await runPipeline(DEMO, { storeDir: ui.store, mode: 'inprocess', entry: DEMO, params: { rows: 5 } });
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

  it('sends the layout of the graph as the page first draws it (every nested pipeline closed): the page draws the DAG without dagre', async () => {
    const p = await json(`/api/runs/${ids.nested}/page`);
    expect(p.layout).toEqual(layoutGraph(p.graph, new Set()));
    // the closed pipeline is one node; its tasks are not drawn; nothing is a group
    expect(p.layout.nodes.map((b: any) => b.id)).toEqual(['step', 'prep', 'step-2']);
    expect(p.layout.groups).toEqual([]);
    expect(p.layout.edges).toHaveLength(2);
    for (const b of p.layout.nodes) expect(b).toMatchObject({ x: expect.any(Number), y: expect.any(Number), width: expect.any(Number), height: 34 });
    // opened (as the page lays it out itself, dagre loaded then), the pipeline is a group of its own tasks
    const open = layoutGraph(p.graph, new Set(['prep']));
    expect(open.groups.map((b) => b.id)).toEqual(['prep']);
    expect(open.nodes.map((b) => b.id)).toEqual(['step', 'prep/step', 'prep/step-2', 'step-2']);
    // and a loop is one group around its body, whatever its iterations
    const demo = await json(`/api/runs/${ids.demo}/page`);
    expect(demo.layout.groups.map((b: any) => b.id)).toContain('sweep');
    expect(demo.layout.nodes.map((b: any) => b.id)).toEqual(demo.graph.nodes.filter((n: any) => n.kind === 'task').map((n: any) => n.id));
  });

  it("counts the inner tasks' states (failed, running) on the pipeline node", async () => {
    const ir = new UiData(ui.store).ir(ids.nested);
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
    const r = await runPipeline(DEMO, { storeDir: ui.store, mode: 'inprocess', entry: DEMO, runId });
    expect(r.status).toBe('succeeded');
    ids.fired = runId;
    recordDecisions(ui.store, 'nightly', nightly(runId, now), now);
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

describe("a trigger's drift report", () => {
  const fire = (trigger: string, runId: string, at: number): Decision => ({ kind: 'fire', trigger, at, reason: 'drift in income (ks p=0.0004)', evidence: { drifted: ['income'] }, event: { scheduledTime: new Date(at).toISOString() }, dedupeKey: `${trigger}|${at}`, runId, params: {} });
  const runId = 'drift-watch-0123456789ab';

  it('is listed with the run it started and shown as HTML, read from the store by the recorded path and hash only', async () => {
    const r = await runPipeline(DEMO, { storeDir: ui.store, mode: 'inprocess', entry: DEMO, runId });
    expect(r.status).toBe('succeeded');
    const now = Date.UTC(2026, 11, 2, 4, 0, 0);
    const report = driftReport(ui.store);
    recordDecisions(ui.store, 'drift-watch', [fire('drift-watch', runId, now)], now, report);
    const { reports } = await json(`/api/runs/${runId}/reports`);
    expect(reports).toEqual([{ run: runId, name: 'drift-report', trigger: 'drift-watch', mediaType: 'text/html', bytes: report.bytes, sha256: report.sha256, createdAt: new Date(now).toISOString() }]);
    const one = await json(`/api/runs/${runId}/reports/drift-report`);
    expect(one.preview.kind).toBe('html');
    expect(one.preview.text).toContain('drift report: income');
    expect(JSON.stringify(one)).not.toContain(report.path);
    // what the page's frame loads: the report under its own policy (sandboxed, no script, framed by the page only)
    const framed = await get(`/api/runs/${runId}/reports/drift-report/html`);
    expect(framed.headers.get('content-security-policy')).toBe(FRAME_CSP);
    expect(FRAME_CSP).toMatch(/default-src 'none'.*; sandbox;.*frame-ancestors 'self'/);
    expect(framed.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await framed.text()).toBe(readFileSync(report.path, 'utf8'));
    const { triggers } = await json('/api/triggers');
    expect(triggers.find((t: any) => t.name === 'drift-watch').fires).toEqual([expect.objectContaining({ runId, reports: ['drift-report'] })]);
    // a run without reports, a name it has not
    expect((await json(`/api/runs/${ids.demo}/reports`)).reports).toEqual([]);
    const missing = await get(`/api/runs/${runId}/reports/other`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toBe(`run ${runId} has no report "other"; its reports: drift-report`);
  });

  it('is refused when its file changed since it was recorded, or lies outside the store', async () => {
    const report = driftReport(ui.store, 'drift-changed.html');
    const now = Date.UTC(2026, 11, 2, 4, 30, 0);
    const changed = 'drift-changed-0123456789ab';
    expect((await runPipeline(DEMO, { storeDir: ui.store, mode: 'inprocess', entry: DEMO, runId: changed })).status).toBe('succeeded');
    recordDecisions(ui.store, 'drift-changed', [fire('drift-changed', changed, now)], now, report);
    writeFileSync(report.path, '<!doctype html><p>something else</p>');
    const r1 = await get(`/api/runs/${changed}/reports/drift-report`);
    expect(r1.status).toBe(404);
    expect(((await r1.json()) as { error: string }).error).toMatch(/changed since the trigger recorded it/);
    // a record naming a file elsewhere (its hash right): never read
    const outside = join(ui.dir, 'outside.html');
    writeFileSync(outside, '<!doctype html><p id="secret">outside the store</p>');
    const elsewhere = 'drift-elsewhere-0123456789ab';
    expect((await runPipeline(DEMO, { storeDir: ui.store, mode: 'inprocess', entry: DEMO, runId: elsewhere })).status).toBe('succeeded');
    recordDecisions(ui.store, 'drift-elsewhere', [fire('drift-elsewhere', elsewhere, now)], now, { ...report, path: outside, sha256: createHash('sha256').update(readFileSync(outside)).digest('hex') });
    const r2 = await get(`/api/runs/${elsewhere}/reports/drift-report`);
    expect(r2.status).toBe(404);
    const text = await r2.text();
    expect(text).toMatch(/is not in this store/);
    expect(text).not.toMatch(/outside the store/);
  });
});

describe("a finished run's page answer across restarts", () => {
  const FLAKY = resolve(import.meta.dirname, 'fixtures/flaky.ts');
  const pageOf = async (app: ReturnType<typeof ui.restart>, id: string) => {
    const r = await app.app.request(`/api/runs/${id}/page`);
    expect(r.status).toBe(200);
    return (await r.json()) as any;
  };

  it('is read from the store once: a restarted server answers from the cache directory, the same answer', async () => {
    const cacheDir = join(ui.dir, 'cache-restart');
    const first = ui.restart({ cacheDir });
    const p = await pageOf(first, ids.nested);
    expect(first.data.pageReads).toBe(1);
    const again = ui.restart({ cacheDir });
    expect(await pageOf(again, ids.nested)).toEqual(p);
    expect(again.data.pageReads).toBe(0);
    expect(again.data.pageCache?.hits).toBe(1);
    // and without a cache directory, every server reads it
    const none = ui.restart({ cacheDir: false });
    expect(await pageOf(none, ids.nested)).toEqual(p);
    expect(none.data.pageReads).toBe(1);
  });

  it('is read again after a retry changed the run (failed, then succeeded)', async () => {
    const pass = join(ui.dir, 'pass-retry');
    const r = await runPipeline(FLAKY, { storeDir: ui.store, mode: 'inprocess', entry: FLAKY, params: { pass } });
    expect(r.status).toBe('failed');
    const server = ui.restart();
    expect((await pageOf(server, r.runId)).run.status).toBe('failed');
    writeFileSync(pass, 'ok');
    expect((await new LocalBackend(ui.store).retry(r.runId)).status).toBe('succeeded');
    const after = ui.restart();
    const p = await pageOf(after, r.runId);
    expect(p.run.status).toBe('succeeded');
    expect(p.tasks.state.map((i: number) => p.tasks.states[i])).toEqual(['succeeded', 'succeeded']);
    expect(after.data.pageReads).toBe(1);
    // the server that kept the failed answer (in memory and on disk) reads the run again too
    expect(await pageOf(server, r.runId)).toEqual(p);
  });

  it('is read again after a resume changed the run', async () => {
    const pass = join(ui.dir, 'pass-resume');
    const r = await runPipeline(FLAKY, { storeDir: ui.store, mode: 'inprocess', entry: FLAKY, params: { pass } });
    expect(r.status).toBe('failed');
    const server = ui.restart();
    expect((await pageOf(server, r.runId)).run.status).toBe('failed');
    writeFileSync(pass, 'ok');
    expect((await new LocalBackend(ui.store).resume(r.runId)).status).toBe('succeeded');
    const p = await pageOf(ui.restart(), r.runId);
    expect(p.run.status).toBe('succeeded');
    expect(await pageOf(server, r.runId)).toEqual(p);
  });

  it('is not served for another run of the same id in a store made again at the same place', async () => {
    const dir = join(ui.dir, 'again');
    const store = join(dir, '.sluice');
    const a = await runPipeline(DEMO, { storeDir: store, mode: 'inprocess', entry: DEMO, runId: 'same-id-0123', params: { rows: 3 } });
    const first = ui.restart({ storeDir: store });
    expect((await pageOf(first, a.runId)).run.params.rows).toBe(3);
    rmSync(dir, { recursive: true, force: true }); // what removing a store and starting over does
    const b = await runPipeline(DEMO, { storeDir: store, mode: 'inprocess', entry: DEMO, runId: 'same-id-0123', params: { rows: 4 } });
    expect(b.runId).toBe(a.runId);
    const second = ui.restart({ storeDir: store });
    expect((await pageOf(second, b.runId)).run.params.rows).toBe(4);
    expect(second.data.pageReads).toBe(1);
  });
});
