import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runPipeline } from '@sluice/runner';
import { buildClient } from '../src/assets.ts';
import { startUi, type RunningUi } from '../src/serve.ts';
import { FRAME_CSP } from '../src/server.ts';
import { CHROMIUM_ARGS, chromiumPath, NO_CHROMIUM, requireBrowser } from './browser.ts';
import { driftReport, nightly, recordDecisions } from './fixtures/triggers.ts';

const QUICKSTART = resolve(import.meta.dirname, '../../../examples/tabular-training/pipeline.ts');
const DEMO = resolve(import.meta.dirname, 'fixtures/demo.ts');
const NESTED = resolve(import.meta.dirname, 'fixtures/nested.ts');
const exe = chromiumPath();
if (!exe && requireBrowser()) throw new Error(`CI=true: ${NO_CHROMIUM}`);
if (!exe) console.warn(NO_CHROMIUM);

describe.skipIf(!exe)('the web view in Chromium', () => {
  let dir: string;
  let shots: string;
  let store: string;
  let ui: RunningUi;
  let browser: Browser;
  let page: Page;
  const runs: { a: string; b: string; demo: string; nested: string } = { a: '', b: '', demo: '', nested: '' };
  const errors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-ui-e2e-'));
    shots = join(dir, 'screenshots');
    mkdirSync(shots);
    store = join(dir, '.sluice');
    await buildClient();
    const a = await runPipeline(QUICKSTART, { storeDir: store, entry: QUICKSTART, mode: 'inprocess', params: { seed: 1 } });
    const b = await runPipeline(QUICKSTART, { storeDir: store, entry: QUICKSTART, mode: 'inprocess', params: { seed: 2, testFraction: 0.4 } });
    const d = await runPipeline(DEMO, { storeDir: store, entry: DEMO, mode: 'inprocess' });
    expect([a.status, b.status, d.status]).toEqual(['succeeded', 'succeeded', 'succeeded']);
    Object.assign(runs, { a: a.runId, b: b.runId, demo: d.runId });
    ui = await startUi({ storeDir: store, pollMs: 100, cacheDir: join(dir, 'cache') });
    browser = await chromium.launch({ executablePath: exe as string, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`); });
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await ui?.close();
    console.log(`screenshots in ${shots}`);
    if (!process.env.SLUICE_KEEP_SHOTS) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the runs, filters them, and links two to compare', async () => {
    await page.goto(ui.url);
    await page.waitForSelector(`tr[data-run="${runs.a}"]`);
    expect(await page.locator('#runs tbody tr').count()).toBe(3);
    await page.fill('#search', 'ui-demo');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#runs tbody tr').length === 1);
    await page.fill('#search', '');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#runs tbody tr').length === 3);
    await page.screenshot({ path: join(shots, 'runs.png') });
    expect(errors).toEqual([]);
  });

  it('draws the quickstart DAG: task count and the loop; a task panel with cache and log', async () => {
    const api = (await (await fetch(new URL(`/api/runs/${runs.a}/graph`, ui.url))).json()) as { nodes: { id: string; kind: string; branch?: string }[] };
    await page.goto(`${ui.url}#/run/${runs.a}`);
    await page.waitForSelector(`#run[data-run="${runs.a}"] #dag g.node`);
    const nodes = await page.locator('#dag g.node').count();
    expect(nodes).toBe(api.nodes.filter((n) => n.kind === 'task').length);
    expect(nodes).toBe(7); // validate, split, train, evaluate (in the sweep), pick-best, promote, model-card (if promoted)
    expect(await page.locator('#dag g.group[data-group="sweep"] text').textContent()).toContain('4 iterations');
    expect(await page.locator('#dag g.node[data-node="evaluate-model"]').getAttribute('data-state')).toBe('succeeded');
    await page.click('#dag g.node[data-node="validate-data"]');
    await page.waitForSelector('#task-panel[data-task="validate-data"] #log');
    await page.waitForFunction(() => /validated/.test((globalThis as any).document.querySelector('#log')?.textContent ?? ''));
    expect(await page.locator('#cache').textContent()).toMatch(/miss/);
    await page.screenshot({ path: join(shots, 'run.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it("going from one run to another never shows the first run's DAG as the second's", async () => {
    await page.goto(`${ui.url}#/run/${runs.a}`);
    await page.waitForSelector('#dag g.node[data-node="train-model"]');
    // the second run's page answers late: until then the page says it is loading, not the old DAG
    let release = (): void => {};
    const held = new Promise<void>((r) => { release = r; });
    await page.route(`**/api/runs/${runs.demo}/page`, async (route) => { await held; await route.continue(); });
    try {
      await page.goto(`${ui.url}#/run/${runs.demo}`);
      await page.waitForFunction(() => /loading run/.test((globalThis as any).document.body.textContent ?? ''));
      expect(await page.locator('#dag g.node[data-node="train-model"]').count()).toBe(0);
    } finally {
      release();
    }
    await page.waitForSelector(`#run[data-run="${runs.demo}"] #dag g.node[data-node="announce-2"]`);
    await page.unroute(`**/api/runs/${runs.demo}/page`);
    expect(await page.locator('#dag g.node[data-node="train-model"]').count()).toBe(0);
  });

  it("selecting another task never shows the first task's details under the second's name", async () => {
    await page.goto(`${ui.url}#/run/${runs.demo}`);
    await page.click(`#run[data-run="${runs.demo}"] #dag g.node[data-node="make-data"]`);
    await page.waitForSelector('#task-panel[data-task="make-data"] #cache');
    let release = (): void => {};
    const held = new Promise<void>((r) => { release = r; });
    await page.route(`**/api/runs/${runs.demo}/tasks/fit-2`, async (route) => { await held; await route.continue(); });
    try {
      await page.click('#dag g.node[data-node="fit-2"]');
      await page.waitForSelector('#task-panel[data-loading] h3');
      expect(await page.locator('#task-panel h3').textContent()).toMatch(/^fit-2/);
      expect(await page.locator('#task-panel #cache').count()).toBe(0);
    } finally {
      release();
    }
    await page.waitForSelector('#task-panel[data-task="fit-2"] #cache');
    await page.unroute(`**/api/runs/${runs.demo}/tasks/fit-2`);
    expect(errors).toEqual([]);
  });

  it("draws a condition as a group with its predicate and the branch taken", async () => {
    const api = (await (await fetch(new URL(`/api/runs/${runs.demo}/graph`, ui.url))).json()) as { nodes: { id: string; kind: string; branch?: string }[] };
    const cond = api.nodes.find((n) => n.kind === 'condition') as { id: string; branch: string };
    expect(cond.branch).toBe('then');
    await page.goto(`${ui.url}#/run/${runs.demo}`);
    await page.waitForSelector(`#run[data-run="${runs.demo}"] #dag g.node`);
    expect(await page.locator('#dag g.node').count()).toBe(api.nodes.filter((n) => n.kind === 'task').length);
    const label = await page.locator(`#dag g.group[data-group="${cond.id}"] text`).textContent();
    expect(label).toContain('took then: if fit-2.score >= params.threshold');
    expect(await page.locator(`#dag g.group[data-group="${cond.id}:then"] text`).textContent()).toContain('(taken)');
    expect(await page.locator(`#dag g.group[data-group="${cond.id}:else"] text`).textContent()).toContain('(not taken)');
    expect(await page.locator('#dag g.node[data-node="announce-2"]').getAttribute('data-state')).toBe('skipped');
  });

  it('lists the registered models', async () => {
    await page.goto(`${ui.url}#/models`);
    await page.waitForSelector('#models h3');
    expect(await page.locator('#models h3').allTextContents()).toContain('iris');
  });

  it('shows an artifact: a dataset table and a confusion matrix heat map', async () => {
    const run = (await (await fetch(new URL(`/api/runs/${runs.a}`, ui.url))).json()) as { artifacts: { name: string; hash: string }[] };
    const hash = (n: string) => (run.artifacts.find((x) => x.name === n) as { hash: string }).hash.replace(/^sha256:/, '');
    await page.goto(`${ui.url}#/artifact/${hash('split-data.test')}`);
    await page.waitForSelector('#preview-table tbody tr');
    expect(await page.locator('#preview-table thead th').count()).toBeGreaterThan(2);
    await page.goto(`${ui.url}#/artifact/${hash('sweep[0]/evaluate-model.metrics')}`);
    await page.waitForSelector('#confusion');
    expect(await page.locator('#confusion tbody tr').count()).toBe(3);
    expect(await page.locator('#lineage').textContent()).toMatch(/sweep\[0\]\/evaluate-model\.metrics[\s\S]*split-data\.test/);
    await page.screenshot({ path: join(shots, 'artifact.png') });
  });

  it('renders an HTML report in a sandboxed iframe without running its script', async () => {
    const run = (await (await fetch(new URL(`/api/runs/${runs.demo}`, ui.url))).json()) as { artifacts: { name: string; hash: string }[] };
    const h = (run.artifacts.find((x) => x.name === 'make-data.report') as { hash: string }).hash.replace(/^sha256:/, '');
    const got: string[] = [];
    await page.exposeFunction('__sawMessage', (m: string) => got.push(m));
    await page.goto(`${ui.url}#/artifact/${h}`);
    await page.evaluate(() => (globalThis as any).addEventListener('message', (e: { data: unknown }) => (globalThis as unknown as { __sawMessage: (m: string) => void }).__sawMessage(String(e.data))));
    const frame = page.locator('iframe.report');
    await frame.waitFor();
    expect(await frame.getAttribute('sandbox')).toBe('');
    expect(await page.frameLocator('iframe.report').locator('#r').textContent()).toBe('report');
    await page.waitForTimeout(300);
    expect(got).toEqual([]);
    // Chromium says why: the sandbox blocked the report's script
    expect(errors.splice(0).join('\n')).toMatch(/Blocked script execution in '[^']*\/api\/artifacts\/[0-9a-f]{64}\/html'.*sandboxed/);
  });

  it('charts stepped metrics', async () => {
    await page.goto(`${ui.url}#/run/${runs.demo}`);
    await page.waitForSelector(`#run[data-run="${runs.demo}"] #metrics .chart canvas`);
    expect(await page.locator('#metrics .chart').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#metrics .chart .u-title').first().textContent()).toBe('loss');
    await page.screenshot({ path: join(shots, 'metrics.png'), fullPage: true });
  });

  it('compares two quickstart runs with different params, marking the differences', async () => {
    await page.goto(`${ui.url}#/runs`);
    await page.waitForSelector(`tr[data-run="${runs.a}"]`);
    await page.check(`tr[data-run="${runs.a}"] input[type=checkbox]`);
    await page.check(`tr[data-run="${runs.b}"] input[type=checkbox]`);
    await page.click('#compare-link');
    await page.waitForSelector('#compare table[data-section="params"]');
    const row = (k: string) => page.locator(`table[data-section="params"] tr[data-key="${k}"]`);
    expect(await row('seed').getAttribute('data-differs')).toBe('1');
    expect(await row('testFraction').getAttribute('data-differs')).toBe('1');
    expect(await row('minAccuracy').getAttribute('data-differs')).toBe('0');
    expect(await row('seed').locator('td').allTextContents()).toEqual(['1', '2']);
    await page.screenshot({ path: join(shots, 'compare.png'), fullPage: true });
  });

  it('draws a nested pipeline as one node that expands on click into its group, the URL keeping it open', async () => {
    const n = await runPipeline(NESTED, { storeDir: store, entry: NESTED, mode: 'inprocess' });
    expect(n.status).toBe('succeeded');
    runs.nested = n.runId;
    await page.goto(`${ui.url}#/run/${n.runId}`);
    const prep = `#run[data-run="${n.runId}"] #dag g.node[data-node="prep"]`;
    await page.waitForSelector(`${prep}[data-collapsed="1"]`);
    // collapsed: one node with the inner tasks' states counted; none of its tasks drawn
    expect(await page.locator(`${prep} text.counts`).textContent()).toBe('2 succeeded');
    expect(await page.locator('#dag g.node[data-node="prep/step"]').count()).toBe(0);
    expect(await page.locator('#dag g.node').count()).toBe(3); // step, prep, step-2
    await page.screenshot({ path: join(shots, 'nested-collapsed.png') });
    await page.click(prep);
    await page.waitForSelector(`#run[data-run="${n.runId}"] #dag g.group[data-group="prep"][data-open="1"]`);
    await page.waitForSelector('#dag g.node[data-node="prep/step-2"]');
    expect(await page.locator('#dag g.node').count()).toBe(4); // step, prep/step, prep/step-2, step-2
    expect(await page.locator('#dag g.node[data-node="prep"]').count()).toBe(0);
    expect(page.url()).toMatch(/\?open=prep$/);
    await page.screenshot({ path: join(shots, 'nested-open.png') });
    // a new page from the URL: still open
    const again = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      await again.goto(page.url());
      await again.waitForSelector(`#run[data-run="${n.runId}"] #dag g.group[data-group="prep"][data-open="1"]`);
      expect(await again.locator('#dag g.node[data-node="prep/step"]').count()).toBe(1);
    } finally {
      await again.close();
    }
    // its header collapses it again
    await page.click('#dag rect[data-toggle="prep"]');
    await page.waitForSelector(`${prep}[data-collapsed="1"]`);
    expect(page.url()).not.toMatch(/open=/);
    expect(await page.locator('#dag g.group[data-group="prep"]').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it("draws the DAG from the server's layout, with no layout code until a nested pipeline is opened", async () => {
    const answer = (await (await fetch(new URL(`/api/runs/${runs.nested}/page`, ui.url))).json()) as { layout: { nodes: { id: string; x: number; y: number; width: number; height: number }[] } };
    // a browser of its own: nothing of the other tests' pages in its module map
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    try {
      const fresh = await context.newPage();
      fresh.on('pageerror', (e) => errors.push(e.message));
      const scripts = () => fresh.evaluate(() => performance.getEntriesByType('resource').map((r) => r.name).filter((u) => /\/assets\/.*\.js/.test(u)).map((u) => new URL(u).pathname));
      await fresh.goto(`${ui.url}#/run/${runs.nested}`);
      await fresh.waitForSelector(`#run[data-run="${runs.nested}"] #dag g.node[data-node="prep"]`);
      // each node where the server put it
      for (const b of answer.layout.nodes) {
        const rect = fresh.locator(`#dag g.node[data-node="${b.id}"] rect`);
        expect(Number(await rect.getAttribute('x'))).toBeCloseTo(b.x - b.width / 2, 5);
        expect(Number(await rect.getAttribute('y'))).toBeCloseTo(b.y - b.height / 2, 5);
      }
      expect(await scripts()).toEqual(['/assets/app.js']);
      // opened: the page lays the group out itself, with the layout's chunk (dagre) loaded then
      await fresh.click('#dag g.node[data-node="prep"]');
      await fresh.waitForSelector('#dag g.node[data-node="prep/step"]');
      const after = await scripts();
      expect(after).toHaveLength(2);
      expect(after[1]).toMatch(/^\/assets\/chunk-[\w-]+\.js$/);
    } finally {
      await context.close();
    }
    expect(errors).toEqual([]);
  });

  it("lists the triggers' last decisions with reason and evidence, and links the runs they started", async () => {
    const now = Date.now();
    const fired = await runPipeline(DEMO, { storeDir: store, entry: DEMO, mode: 'inprocess', runId: 'nightly-0123456789ab' });
    expect(fired.status).toBe('succeeded');
    recordDecisions(store, 'nightly', nightly(fired.runId, now), now);
    await page.goto(`${ui.url}#/triggers`);
    const t = '#triggers .trigger[data-trigger="nightly"]';
    await page.waitForSelector(`${t} table.decisions tbody tr`);
    expect(await page.locator(`${t} table.decisions tbody tr`).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')))).toEqual(['suppress', 'fire', 'skip']);
    expect(await page.locator(`${t} table.decisions tr[data-kind="skip"] td.reason`).textContent()).toBe('tick 2026-12-02T02:00:00Z is older than catchUp (1h)');
    await page.click(`${t} table.decisions tr[data-kind="skip"] summary`);
    expect(await page.locator(`${t} table.decisions tr[data-kind="skip"] pre.evidence`).textContent()).toContain('"catchUp": 3600');
    const run = page.locator(`${t} table.fires tr[data-run="${fired.runId}"]`);
    expect(await run.locator('.badge').textContent()).toBe('succeeded');
    await page.screenshot({ path: join(shots, 'triggers.png'), fullPage: true });
    await run.locator('a').click();
    await page.waitForSelector(`#run[data-run="${fired.runId}"] #dag g.node`);
    expect(errors).toEqual([]);
  });

  it("opens a trigger's drift report from the triggers page and from the run page, in a sandboxed frame", async () => {
    const now = Date.now();
    const runId = 'drift-watch-0123456789ab';
    expect((await runPipeline(DEMO, { storeDir: store, entry: DEMO, mode: 'inprocess', runId })).status).toBe('succeeded');
    recordDecisions(store, 'drift-watch', [{ kind: 'fire', trigger: 'drift-watch', at: now, reason: 'drift in income', evidence: { drifted: ['income'] }, event: {}, dedupeKey: `drift-watch|${now}`, runId, params: {} }], now, driftReport(store));
    const got: string[] = [];
    await page.exposeFunction('__sawDriftMessage', (m: string) => got.push(m));
    await page.goto(`${ui.url}#/triggers`);
    await page.evaluate(() => (globalThis as any).addEventListener('message', (e: { data: unknown }) => (globalThis as unknown as { __sawDriftMessage: (m: string) => void }).__sawDriftMessage(String(e.data))));
    const link = page.locator(`#triggers .trigger[data-trigger="drift-watch"] table.fires tr[data-run="${runId}"] a.report-link[data-report="drift-report"]`);
    await link.click();
    await page.waitForSelector('#report[data-report="drift-report"] iframe.report');
    expect(await page.locator('#report iframe.report').getAttribute('sandbox')).toBe('');
    const src = await page.locator('#report iframe.report').getAttribute('src');
    expect(src).toBe(`/api/runs/${runId}/reports/drift-report/html`);
    // the frame's document has the report's own policy (sandboxed, no scripts, inline styles only), not the page's
    expect((await fetch(new URL(src as string, ui.url))).headers.get('content-security-policy')).toBe(FRAME_CSP);
    expect(await page.frameLocator('#report iframe.report').locator('#drift').textContent()).toBe('drift report: income');
    // its own styles apply (a srcdoc frame inherited the page's style-src 'self' and lost them)
    expect(await page.frameLocator('#report iframe.report').locator('td').first().evaluate((td) => (globalThis as any).getComputedStyle(td).color)).toBe('rgb(204, 0, 0)');
    await page.screenshot({ path: join(shots, 'drift-report.png') });
    // from the run it started
    await page.locator('#report h2 a').first().click();
    await page.waitForSelector(`#run[data-run="${runId}"] #reports a[data-report="drift-report"]`);
    await page.click(`#run[data-run="${runId}"] #reports a[data-report="drift-report"]`);
    await page.waitForSelector('#report[data-report="drift-report"] iframe.report');
    expect(await page.frameLocator('#report iframe.report').locator('#drift').textContent()).toBe('drift report: income');
    await page.waitForTimeout(300);
    expect(got).toEqual([]);
    // the sandbox blocked the report's script (Chromium says so), and nothing else went wrong
    const seen = errors.splice(0);
    expect(seen.join('\n')).toMatch(/Blocked script execution in '[^']*\/reports\/drift-report\/html'.*sandboxed/);
    expect(seen.filter((e) => !/Blocked script execution in '[^']*\/html'/.test(e))).toEqual([]);
  });

  it('follows a live run: states change as tasks finish, a log line appears', async () => {
    const gate = join(dir, 'gate');
    const live = runPipeline(DEMO, { storeDir: store, entry: DEMO, mode: 'inprocess', runId: 'live-run', params: { gate, rows: 9 } });
    for (let i = 0; i < 200 && (await fetch(new URL('/api/runs/live-run', ui.url))).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    await page.goto(`${ui.url}#/run/live-run`);
    await page.waitForSelector('#dag g.node[data-node="wait-gate"][data-state="running"]', { timeout: 60_000 });
    expect(await page.locator('#run').getAttribute('data-status')).toBe('running');
    await page.click('#dag g.node[data-node="wait-gate"]');
    await page.waitForFunction(() => /waiting for the gate/.test((globalThis as any).document.querySelector('#log')?.textContent ?? ''), undefined, { timeout: 30_000 });
    await page.screenshot({ path: join(shots, 'live-running.png'), fullPage: true });
    writeFileSync(gate, 'go');
    // no reload: the page learns from the server-sent events
    await page.waitForSelector('#dag g.node[data-node="wait-gate"][data-state="succeeded"]', { timeout: 60_000 });
    await page.waitForSelector('#run[data-status="succeeded"]', { timeout: 60_000 });
    await page.waitForFunction(() => /gate opened/.test((globalThis as any).document.querySelector('#log')?.textContent ?? ''), undefined, { timeout: 30_000 });
    expect((await live).status).toBe('succeeded');
    await page.screenshot({ path: join(shots, 'live-done.png'), fullPage: true });
    expect(existsSync(join(shots, 'live-done.png'))).toBe(true);
    expect(errors).toEqual([]);
  });

  it('overlays the stepped metrics of compared runs in one chart', async () => {
    await page.goto(`${ui.url}#/compare/${runs.demo},live-run`);
    await page.waitForSelector('#compare .chart canvas');
    const titles = await page.locator('#compare .chart .u-title').allTextContents();
    expect(titles).toContain('sweep[0]/fit/loss');
    // one series per run in the legend (after the x axis)
    const chart = page.locator('#compare .chart', { has: page.locator('.u-title', { hasText: 'fit-2/loss' }) });
    expect(await chart.locator('.u-legend .u-series').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('table[data-section="params"] tr[data-key="gate"]').getAttribute('data-differs')).toBe('1');
    await page.screenshot({ path: join(shots, 'compare-chart.png'), fullPage: true });
  });
});
