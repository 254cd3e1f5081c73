import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline } from '@sluice/runner';
import { CSP, FRAME_CSP, PREFETCH } from '../src/server.ts';
import { startUi } from '../src/serve.ts';
import { preview, runGraph } from '../src/data.ts';
import { useUiApp } from './fixtures/app.ts';

const DEMO = resolve(import.meta.dirname, 'fixtures/demo.ts');
const SECRET = 'sk-live-DO-NOT-SHOW-4242';
let ids: string[];
const ui = useUiApp('api', async ({ store }) => {
  process.env.API_TOKEN = SECRET; // what the secret would hold: must never appear
  const a = await runPipeline(DEMO, { storeDir: store, mode: 'inprocess', entry: DEMO, params: { threshold: 0.5 } });
  const b = await runPipeline(DEMO, { storeDir: store, mode: 'inprocess', entry: DEMO, params: { threshold: 0.99, lrs: [0.1, 0.5] } });
  expect([a.status, b.status]).toEqual(['succeeded', 'succeeded']);
  ids = [a.runId, b.runId];
});
afterAll(() => {
  delete process.env.API_TOKEN;
});
const { get, json } = ui;

describe('JSON API', () => {
  it('lists runs with status, pipeline, progress; filters and searches', async () => {
    const { runs } = await json('/api/runs');
    expect(runs.map((r: any) => r.id).sort()).toEqual([...ids].sort());
    expect(runs[0]).toMatchObject({ pipeline: 'ui-demo', status: 'succeeded' });
    expect(runs[0].progress).toMatch(/done/);
    expect((await json('/api/runs?status=failed')).runs).toEqual([]);
    expect((await json(`/api/runs?q=${ids[0]}`)).runs.map((r: any) => r.id)).toEqual([ids[0]]);
    expect((await json('/api/runs?q=nothing-like-this')).runs).toEqual([]);
  });

  it('shows a run: tasks in DAG order, attempts, cache, outputs; unknown run is 404', async () => {
    const r = await json(`/api/runs/${ids[0]}`);
    const keys = r.tasks.map((t: any) => t.key);
    expect(keys.indexOf('make-data')).toBeLessThan(keys.indexOf('sweep[0]/fit'));
    const t = r.tasks.find((x: any) => x.key === 'make-data');
    expect(t.attempts.length).toBeGreaterThanOrEqual(1);
    expect(t.cache.status).toBe('miss');
    const second = await json(`/api/runs/${ids[1]}`);
    expect(second.tasks.find((x: any) => x.key === 'make-data').cache.status).toBe('hit');
    expect(r.outputs.done).toBe(true);
    const miss = await get('/api/runs/no-such-run');
    expect(miss.status).toBe(404);
    expect(((await miss.json()) as any).error).toMatch(/no-such-run/);
  });

  it('draws the graph from the IR: loops and conditions as groups with predicate and branch', async () => {
    const g = await json(`/api/runs/${ids[0]}/graph`);
    const loop = g.nodes.find((n: any) => n.kind === 'loop');
    expect(loop).toMatchObject({ id: 'sweep', iterations: 2 });
    expect(g.nodes.filter((n: any) => n.parent === 'sweep').map((n: any) => n.kind)).toEqual(['task']);
    const cond = g.nodes.find((n: any) => n.kind === 'condition');
    expect(cond.predicate).toMatch(/>= params\.threshold/);
    expect(cond.branch).toBe('then');
    expect((await json(`/api/runs/${ids[1]}/graph`)).nodes.find((n: any) => n.kind === 'condition').branch).toBe('else');
    expect(g.edges).toContainEqual({ from: 'make-data', to: 'fit' }); // into the loop body
    expect(g.edges).toContainEqual({ from: 'fit-2', to: cond.id }); // the predicate reads fit-2's score
    const inThen = g.nodes.filter((n: any) => n.parent === `${cond.id}:then`);
    expect(inThen).toHaveLength(1);
    expect(inThen[0].state).toBe('succeeded');
    expect(g.nodes.find((n: any) => n.parent === `${cond.id}:else`).state).toBe('skipped');
  });

  it('serves logs with attempt markers; unknown task is 404 naming real tasks', async () => {
    const { entries } = await json(`/api/runs/${ids[0]}/logs/make-data`);
    expect(entries[0]).toMatchObject({ kind: 'attempt', attempt: 1 });
    expect(entries.filter((e: any) => e.kind === 'text').map((e: any) => e.text).join('')).toMatch(/made rows/);
    const nested = await json(`/api/runs/${ids[0]}/logs/${encodeURIComponent('sweep[1]/fit')}`);
    expect(nested.entries[0].kind).toBe('attempt');
    const r = await get(`/api/runs/${ids[0]}/logs/nope`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as any).error).toMatch(/make-data/);
  });

  it('serves stepped metrics', async () => {
    const { points } = await json(`/api/runs/${ids[0]}/metrics`);
    const loss = points.filter((p: any) => p.taskKey === 'sweep[0]/fit' && p.name === 'loss');
    expect(loss.map((p: any) => p.step)).toEqual([0, 1, 2, 3, 4]);
    expect(loss[4].value).toBeCloseTo(0.9 ** 5, 10);
  });

  it('previews artifacts by a validated hash only: CSV table, Metrics, HTML', async () => {
    const r = await json(`/api/runs/${ids[0]}`);
    const hashOf = (name: string) => r.artifacts.find((a: any) => a.name === name).hash.replace(/^sha256:/, '');
    const csv = await json(`/api/artifacts/${hashOf('make-data.data')}`);
    expect(csv.preview.kind).toBe('table');
    expect(csv.preview.columns).toEqual(['a', 'b', 'label']);
    expect(csv.preview.rows[1]).toEqual(['1', '2', 'odd']);
    expect(csv.producers[0]).toMatchObject({ task: 'make-data', output: 'data' });
    const m = await json(`/api/artifacts/${hashOf('sweep[0]/fit.metrics')}`);
    expect(m.preview.kind).toBe('metrics');
    expect(m.preview.json.confusionMatrix.matrix).toEqual([[4, 1], [2, 3]]);
    // lineage through recorded edges: the metrics came from sweep[0]/fit, whose data input came from make-data
    expect(m.lineage.producedBy).toMatchObject({ run: ids[0], task: 'sweep[0]/fit', output: 'metrics' });
    expect(m.lineage.params).toMatchObject({ lr: 0.1 });
    expect(m.lineage.inputs.map((i: any) => [i.name, i.lineage.producedBy.task])).toEqual([['data', 'make-data']]);
    expect((await json(`/api/artifacts/${hashOf('make-data.report')}`)).preview.kind).toBe('html');
    const framed = await get(`/api/artifacts/${hashOf('make-data.report')}/html`);
    expect(framed.headers.get('content-security-policy')).toBe(FRAME_CSP);
    expect(await framed.text()).toMatch(/<h1 id="r">report<\/h1>/);
    expect((await get(`/api/artifacts/${hashOf('make-data.data')}/html`)).status).toBe(404);
    expect((await get(`/api/artifacts/${'0'.repeat(64)}`)).status).toBe(404);
  });

  it('refuses path traversal through artifact URLs', async () => {
    const real = (await json(`/api/runs/${ids[0]}`)).artifacts[0].hash.replace(/^sha256:/, '');
    const attempts = [
      '../../../../etc/passwd', '..%2F..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '%2e%2e', '..',
      encodeURIComponent('/etc/passwd'), encodeURIComponent(ui.store + '/state.db'), `${real}%00`, `${real}%00.txt`, `%00${real}`,
      `${real.slice(0, 62)}..`, real.toUpperCase(), `${real}/..`, encodeURIComponent(`../${real}`), 'sha256%3A..%2F..',
    ];
    for (const a of attempts) {
      const res = await get(`/api/artifacts/${a}`);
      expect([400, 404], a).toContain(res.status);
      const text = await res.text();
      expect(text, a).not.toMatch(/root:|SQLite/);
    }
    // raw (unnormalised) paths as a client could send them
    for (const raw of ['/api/artifacts/../../etc/passwd', '/api/artifacts/..%2f..%2fstate.db', '/assets/..%2f..%2fpackage.json', '/assets/%2e%2e%2fsrc%2fserver.ts']) {
      const res = await get(raw);
      const text = await res.text();
      expect(text, raw).not.toMatch(/root:|"name": "@sluice|createUiApp/);
    }
  });

  it('compares runs: params and metrics with differences marked, stepped series', async () => {
    const c = await json(`/api/compare?runs=${ids.join(',')}`);
    expect(c.runs.map((r: any) => r.id)).toEqual(ids);
    const p = Object.fromEntries(c.params.map((r: any) => [r.key, r]));
    expect(p.threshold).toMatchObject({ values: ['0.5', '0.99'], differs: true });
    expect(p.rows).toMatchObject({ differs: false });
    const m = Object.fromEntries(c.metrics.map((r: any) => [r.key, r]));
    expect(m['sweep[1]/fit/loss'].differs).toBe(true);
    // the second run took sweep[0] from the cache: it logged no metrics of its own there
    expect(m['sweep[0]/fit/loss'].values[1]).toBeNull();
    expect(c.series[0].series['sweep[0]/fit/loss']).toHaveLength(5);
    expect((await get(`/api/compare?runs=${ids[0]}`)).status).toBe(400);
  });

  it('lists models (empty registry)', async () => {
    expect(await json('/api/models')).toEqual({ models: [] });
  });

  it('streams events of a finished run: where it stands, then closes', async () => {
    const res = await get(`/api/runs/${ids[0]}/events`);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await res.text();
    expect(text).toMatch(/^event: run\ndata: .*"status":"succeeded"/);
    expect(text).not.toMatch(/event: task/);
  });

  it('streams a live run to several clients from one poller', async () => {
    const gate = join(ui.dir, 'gate');
    const live = runPipeline(DEMO, { storeDir: ui.store, mode: 'inprocess', entry: DEMO, runId: 'live-api', params: { gate, rows: 3 } });
    for (let i = 0; i < 300 && (await get('/api/runs/live-api')).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
    const read = async () => {
      const res = await get('/api/runs/live-api/events');
      return res.text();
    };
    const clients = [read(), read(), read()];
    await new Promise((r) => setTimeout(r, 600));
    const before = ui.app.watchers.reads;
    await new Promise((r) => setTimeout(r, 500));
    const perTick = ui.app.watchers.reads - before; // one read per ~50 ms for the run, not one per client
    writeFileSync(gate, 'go');
    const texts = await Promise.all(clients);
    expect((await live).status).toBe('succeeded');
    expect(perTick).toBeLessThanOrEqual(11);
    for (const t of texts) {
      expect(t).toMatch(/event: task\ndata: .*"key":"wait-gate","state":"succeeded"/);
      expect(t).toMatch(/event: run\ndata: .*"status":"succeeded"/);
    }
  });

  it('never shows a secret value: only its reference', async () => {
    const bodies = await Promise.all([`/api/runs/${ids[0]}`, `/api/runs/${ids[0]}/graph`, '/api/runs', `/api/compare?runs=${ids.join(',')}`, `/api/runs/${ids[0]}/logs/make-data`].map(async (p) => (await get(p)).text()));
    for (const b of bodies) expect(b).not.toContain(SECRET);
    const g = await json(`/api/runs/${ids[0]}/graph`);
    expect(g.nodes.find((n: any) => n.id === 'make-data').secrets).toEqual({ API_TOKEN: 'secret ui-demo-creds, key token' });
  });

  it('is read-only and sets a strict CSP; the page and its bundle are local', async () => {
    expect((await get('/api/runs', { method: 'POST' })).status).toBe(405);
    const page = await get('/');
    expect(page.headers.get('content-security-policy')).toBe(CSP);
    expect(CSP).toMatch(/script-src 'self'/);
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    // one inline script, the one the policy allows by its hash; every other script is a file of this server
    const inline = [...html.matchAll(/<script>([^<]*)<\/script>/g)].map((m) => m[1] as string);
    expect(inline).toEqual([PREFETCH]);
    expect(CSP).toContain(`'sha256-${createHash('sha256').update(inline[0] as string).digest('base64')}'`);
    expect(CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
    const js = await get('/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await get('/api/nothing')).status).toBe(404);
  });
});

describe('beyond loopback', () => {
  it('requires the token on every request', async () => {
    const server = await startUi({ storeDir: ui.store, cacheDir: ui.cacheDir, host: '127.0.0.1', token: 'tok-123456' });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      expect(server.url).toContain('?token=tok-123456');
      expect((await fetch(`${base}/api/runs`)).status).toBe(401);
      expect((await fetch(`${base}/`)).status).toBe(401);
      expect((await fetch(`${base}/api/runs?token=wrong-token`)).status).toBe(401);
      expect((await fetch(`${base}/api/runs`, { headers: { 'x-sluice-token': 'tok-123456' } })).status).toBe(200);
      const first = await fetch(`${base}/?token=tok-123456`);
      expect(first.status).toBe(200);
      const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] as string;
      expect(cookie).toBe('sluice_token=tok-123456');
      expect((await fetch(`${base}/api/runs`, { headers: { cookie } })).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('generates a token when the host is not loopback', async () => {
    const { isLoopback } = await import('../src/serve.ts');
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('192.168.1.4')).toBe(false);
  });
});

describe('runGraph', () => {
  it('keeps a 10,000-iteration loop as one group', () => {
    const ir: any = { components: { c: { kind: 'function', name: 'work' } }, dag: [{ kind: 'loop', id: 'many', items: { kind: 'param', name: 'xs' }, body: [{ kind: 'task', id: 'work', component: 'c', inputs: {}, after: [], options: {} }], after: [] }], exitHandler: null };
    const tasks: any[] = Array.from({ length: 10_000 }, (_, i) => ({ key: `many[${i}]/work`, taskId: 'work', kind: 'task', state: i < 9_000 ? 'succeeded' : 'running', attempts: [] }));
    const g = runGraph(ir, tasks);
    expect(g.nodes).toHaveLength(2);
    expect(g.nodes[0]).toMatchObject({ kind: 'loop', iterations: 10_000 });
    expect(g.nodes[1]).toMatchObject({ state: 'running', counts: { succeeded: 9_000, running: 1_000 }, instances: 10_000 });
    expect(g.nodes[1]?.keys).toHaveLength(50);
  });
});

describe('preview', () => {
  it('shows a PNG inline as a data: URL and other binary as binary', () => {
    const d = mkdtempSync(join(tmpdir(), 'sluice-ui-preview-'));
    try {
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
      writeFileSync(join(d, 'a'), png);
      expect(preview(join(d, 'a'), 'Artifact')).toEqual({ kind: 'image', size: png.length, dataUrl: `data:image/png;base64,${png.toString('base64')}` });
      writeFileSync(join(d, 'b'), Buffer.from([1, 0, 2, 0, 3]));
      expect(preview(join(d, 'b'), 'Model')).toEqual({ kind: 'binary', size: 5 });
      expect(preview(join(d, 'missing'), 'Model')).toEqual({ kind: 'missing' });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
