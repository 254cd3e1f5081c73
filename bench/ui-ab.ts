/**
 * The Run page of a 10,000-task run, this tree's server and client beside another tree's (a git
 * worktree of an earlier commit, `pnpm install`ed), alternating in one process over one store:
 * `pnpm tsx bench/ui-ab.ts <other tree>`. Cold first visits only (a fresh server per visit, over
 * an empty page cache for this tree), and the page answer from a fresh server. Prints a table;
 * figures, never assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const other = path.resolve(process.argv[2] as string);
const REPS = Number(process.env.REPS ?? 5);
const N = Number(process.env.TASKS ?? 10_000);
const { runPipeline } = await import('../packages/runner/src/index.ts');
const { CHROMIUM_ARGS, chromium, chromiumPath } = await import('../packages/ui/test/browser.ts');
const trees = {
  before: { serve: await import(path.join(other, 'packages/ui/src/serve.ts')), assets: await import(path.join(other, 'packages/ui/src/assets.ts')) },
  after: { serve: await import('../packages/ui/src/serve.ts'), assets: await import('../packages/ui/src/assets.ts') },
};
for (const t of Object.values(trees)) await t.assets.buildClient();
const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-ui-ab-'));
const store = path.join(dir, '.sluice');
const entry = path.join(here, 'ui-pipeline.ts');
const loadStart = os.loadavg().map((x) => x.toFixed(1)).join(' ');
const r = await runPipeline(entry, { storeDir: store, entry, mode: 'inprocess', params: { items: Array.from({ length: N }, (_, i) => i) }, noCache: true, concurrency: 16 });
const id = r.runId;
const PROBE = `(() => {
  const sel = '#run[data-run="${id}"][data-ready] #dag g.node';
  let key = null;
  const look = () => {
    if (key === null) {
      const rows = document.querySelectorAll('#run[data-run="${id}"] #tasks .vrow');
      if (!document.querySelector(sel) || rows.length < 4) return;
      key = rows[3].getAttribute('data-task');
      rows[3].click();
    }
    const panel = document.querySelector('#task-panel[data-task]');
    if (panel && panel.getAttribute('data-task') === key && panel.querySelector('#cache')) { window.__ttiAt = performance.now(); obs.disconnect(); }
  };
  const obs = new MutationObserver(look);
  const start = () => { obs.observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true }); look(); };
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();`;
const out: Record<string, { tti: number[]; answer: number[]; page: number[] }> = { before: { tti: [], answer: [], page: [] }, after: { tti: [], answer: [], page: [] } };
let caches = 0;
try {
  for (let rep = 0; rep < REPS; rep++) {
    for (const [name, t] of Object.entries(trees)) {
      const o = out[name]!;
      const fresh = () => t.serve.startUi({ storeDir: store, cacheDir: path.join(dir, `cache-${caches++}`) });
      let ui = await fresh();
      try {
        const t0 = performance.now();
        await (await fetch(new URL(`/api/runs/${id}/page`, ui.url))).text();
        o.page.push(performance.now() - t0);
      } finally {
        await ui.close();
      }
      ui = await fresh();
      const browser = await chromium.launch({ executablePath: chromiumPath() as string, headless: true, args: CHROMIUM_ARGS });
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        await page.addInitScript(PROBE);
        await page.goto(`${ui.url}#/run/${id}`, { waitUntil: 'commit' });
        await page.waitForFunction(() => (globalThis as any).__ttiAt !== undefined, undefined, { timeout: 120_000 });
        const m = await page.evaluate(() => ({ tti: (globalThis as any).__ttiAt as number, answer: performance.getEntriesByName('sluice:page-answer').at(-1)?.startTime ?? Number.NaN }));
        o.tti.push(m.tti);
        o.answer.push(m.answer);
      } finally {
        await browser.close();
        await ui.close();
      }
      console.error(`${name}: TTI ${o.tti.at(-1)?.toFixed(0)} ms, answer parsed ${o.answer.at(-1)?.toFixed(0)} ms, page answer ${o.page.at(-1)?.toFixed(0)} ms`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const fmt = (xs: number[]) => `${Math.min(...xs).toFixed(0)} / ${(xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number).toFixed(0)} / ${Math.max(...xs).toFixed(0)}`;
console.log(`${new Date().toISOString().slice(0, 16)}Z, load ${loadStart} -> ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ${N} tasks, ${REPS} repetitions alternating (min / median / max, ms)`);
console.log('| tree | cold first visit: page answer parsed | time to interactive | page answer, fresh server |\n|---|---|---|---|');
for (const [name, o] of Object.entries(out)) console.log(`| ${name} | ${fmt(o.answer)} | ${fmt(o.tti)} | ${fmt(o.page)} |`);
