/**
 * What the web view's benchmarks share (bench/ui.bench.ts, bench/ui-ab.ts): the runs they look
 * at, a fresh `sluice ui` process per server (a tree's own CLI, so its code is compiled and its
 * caches empty as for a user who just started it), and one visit of a Run page in a fresh
 * headless Chromium, timed in the page itself. Figures, never assertions.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..');
const { runPipeline } = await import('../packages/runner/src/index.ts');
const { CHROMIUM_ARGS, chromium, chromiumPath } = await import('../packages/ui/test/browser.ts');

export const exe = chromiumPath();
export const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
export const fmt = (xs: readonly number[]) => (xs.length ? `${Math.min(...xs).toFixed(0)} / ${(xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number).toFixed(0)} / ${Math.max(...xs).toFixed(0)}` : '-');

/** One run of bench/ui-pipeline.ts with `n` loop iterations (n + 1 tasks, no cache): its id and how long it took. */
export async function makeRun(store: string, n: number): Promise<{ id: string; ms: number }> {
  const entry = path.join(here, 'ui-pipeline.ts');
  const t0 = performance.now();
  const r = await runPipeline(entry, { storeDir: store, entry, mode: 'inprocess', params: { items: Array.from({ length: n }, (_, i) => i) }, noCache: true, concurrency: 16 });
  if (r.status !== 'succeeded') throw new Error(`run of ${n}: ${r.status} ${r.error}`);
  return { id: r.runId, ms: performance.now() - t0 };
}

export interface Server {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A fresh `sluice ui` process of a tree (its packages/runner/bin/sluice.mjs, through tsx in a
 * checkout) over `store`, keeping page answers in `cacheDir`; resolves once it printed its URL
 * (the server has started and passed over its routes once), `close` stops it with SIGTERM.
 */
export function startServer(tree: string, store: string, cacheDir: string): Promise<Server> {
  const bin = path.join(tree, 'packages', 'runner', 'bin', 'sluice.mjs');
  const child = spawn(process.execPath, [bin, 'ui', '--port', '0', '--store', store], { cwd: tree, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLUICE_UI_CACHE: cacheDir } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  return new Promise<Server>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${bin}: no URL printed in 120 s: ${out}`)), 120_000);
    child.stderr.on('data', (d) => { out += String(d); });
    child.stdout.on('data', (d) => {
      out += String(d);
      const m = /sluice ui: (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ url: m[1] as string, close: async () => { child.kill('SIGTERM'); await exited; } });
      }
    });
    child.once('exit', (c) => { clearTimeout(t); reject(new Error(`${bin} ui exited ${c}: ${out}`)); });
  });
}

/**
 * Installed before the page's own script (CDP, not subject to the page's CSP): as soon as this
 * run's DAG is drawn and its task list has rows, clicks the fourth row in the page itself and
 * notes when the task panel shows that task's details (read from the server on the click).
 * Timing the click from the page keeps the driver's round trips (locator, actionability checks,
 * polling; ~0.4-0.7 s under load here) out of it.
 */
const PROBE = (id: string) => `(() => {
  const sel = '#run[data-run="${id}"][data-ready] #dag g.node';
  let key = null;
  const look = () => {
    if (key === null) {
      const rows = document.querySelectorAll('#run[data-run="${id}"] #tasks .vrow');
      if (!document.querySelector(sel) || rows.length < 4) return;
      key = rows[3].getAttribute('data-task');
      window.__drawnAt = performance.now();
      rows[3].click();
    }
    // the task's details, not only its name: the panel of this task with its cache line
    const panel = document.querySelector('#task-panel[data-task]');
    if (panel && panel.getAttribute('data-task') === key && panel.querySelector('#cache')) { window.__ttiAt = performance.now(); obs.disconnect(); }
  };
  const obs = new MutationObserver(look);
  const start = () => { obs.observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true }); look(); };
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();`;

export interface Visit {
  /** Time to interactive: from navigation start until the clicked task's details are shown (ms). */
  readonly tti: number;
  /** When the page answer was parsed, and when the DAG was drawn (the page's own marks, ms). */
  readonly answer: number;
  readonly drawn: number;
}

/** One visit of run `id`'s page at `url` in a fresh browser process. */
export async function visit(url: string, id: string): Promise<Visit> {
  const browser = await chromium.launch({ executablePath: exe as string, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.addInitScript(PROBE(id));
    await page.goto(`${url}#/run/${id}`, { waitUntil: 'commit' });
    // functions, not strings: a string would be eval'd, which the page's CSP forbids (and no named function inside: tsx would wrap it in a helper the page lacks)
    await page.waitForFunction(() => (globalThis as any).__ttiAt !== undefined, undefined, { timeout: 120_000 });
    return await page.evaluate(() => ({
      tti: (globalThis as any).__ttiAt as number,
      answer: performance.getEntriesByName('sluice:page-answer').at(-1)?.startTime ?? Number.NaN,
      drawn: performance.getEntriesByName('sluice:dag-drawn').at(-1)?.startTime ?? Number.NaN,
    }));
  } finally {
    await browser.close();
  }
}
