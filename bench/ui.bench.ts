/**
 * Web view benchmark: `pnpm tsx bench/ui.bench.ts`. Time to interactive of the Run page of a
 * 10,000-task run in headless Chromium (Debian's, through playwright-core), beside the same page
 * for a 100-task run of the same pipeline as the baseline: from navigation start until the DAG is
 * drawn and a click on a task of the (virtualised) list has opened its panel. Every measurement
 * uses a fresh browser process; the two sizes alternate. Also the server's time for the run JSON.
 * Writes the `## Web view` section of bench/RESULTS.md. Figures, never assertions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPS = Number(process.env.REPS ?? 3);
const SIZES = [10_000, 100];

const { runPipeline } = await import('../packages/runner/src/index.ts');
const { startUi } = await import('../packages/ui/src/serve.ts');
const { buildClient } = await import('../packages/ui/src/assets.ts');
const { CHROMIUM_ARGS, chromium, chromiumPath } = await import('../packages/ui/test/browser.ts');

const exe = chromiumPath();
const loadStart = os.loadavg().map((x) => x.toFixed(1)).join(' ');
if (!exe) throw new Error('no system Chromium (apt-get install -y chromium)');
const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-ui-bench-'));
const store = path.join(dir, '.sluice');
const entry = path.join(here, 'ui-pipeline.ts');
await buildClient();
const ids: Record<number, string> = {};
const made: Record<number, number> = {};
for (const n of SIZES) {
  const t0 = performance.now();
  const r = await runPipeline(entry, { storeDir: store, entry, mode: 'inprocess', params: { items: Array.from({ length: n }, (_, i) => i) }, noCache: true, concurrency: 16 });
  if (r.status !== 'succeeded') throw new Error(`run of ${n}: ${r.status} ${r.error}`);
  made[n] = performance.now() - t0;
  ids[n] = r.runId;
  console.error(`made a ${n}-task run in ${(made[n] / 1000).toFixed(1)} s`);
}
type R = { drawn: number[]; answer: number[]; cold: number[]; kept: number[]; warm: number[]; api: number[]; bytes: number; page: number[]; pageKept: number[]; pageBytes: number; pageGzip: number };
let caches = 0;
/** An empty page cache directory: a server over it reads the run from the store (a true cold first visit). */
const emptyCache = () => path.join(dir, `cache-${caches++}`);
const results: Record<number, R> = {};
/**
 * Installed before the page's own script (CDP, not subject to the page's CSP): as soon as this
 * run's DAG is drawn and its task list has rows, clicks the fourth row in the page itself and
 * notes when the task panel shows that task's details (read from the server on the click). Timing the click from the page keeps the driver's
 * round trips (locator, actionability checks, polling; ~0.4-0.7 s under load here) out of it.
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

async function visit(url: string, id: string): Promise<{ tti: number; answer: number; drawn: number }> {
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
try {
  for (let rep = 0; rep < REPS; rep++) {
    for (const n of SIZES) {
      const id = ids[n] as string;
      const r = (results[n] ??= { drawn: [], answer: [], cold: [], kept: [], warm: [], api: [], bytes: 0, page: [], pageKept: [], pageBytes: 0, pageGzip: 0 });
      // a fresh server per repetition and per answer, over an empty page cache: the first visit pays for reading the run
      for (const what of ['full', 'page'] as const) {
        const ui = await startUi({ storeDir: store, cacheDir: emptyCache() });
        try {
          const t0 = performance.now();
          const res = await fetch(new URL(what === 'full' ? `/api/runs/${id}` : `/api/runs/${id}/page`, ui.url), { headers: { 'accept-encoding': 'identity' } });
          const body = await res.text();
          (what === 'full' ? r.api : r.page).push(performance.now() - t0);
          if (what === 'full') r.bytes = body.length;
          else {
            r.pageBytes = body.length;
            // on loopback the answer goes as it is; beyond loopback it is gzipped (what that would weigh)
            r.pageGzip = gzipSync(body).length;
          }
        } finally {
          await ui.close();
        }
      }
      const cacheDir = emptyCache();
      const ui2 = await startUi({ storeDir: store, cacheDir });
      try {
        const first = await visit(ui2.url, id);
        r.cold.push(first.tti);
        r.answer.push(first.answer);
        r.drawn.push(first.drawn);
        r.warm.push((await visit(ui2.url, id)).tti);
      } finally {
        await ui2.close();
      }
      // a restarted server over the cache the first one filled: the answer is read from disk
      const ui3 = await startUi({ storeDir: store, cacheDir });
      try {
        r.kept.push((await visit(ui3.url, id)).tti);
      } finally {
        await ui3.close();
      }
      const ui4 = await startUi({ storeDir: store, cacheDir });
      try {
        const t0 = performance.now();
        await (await fetch(new URL(`/api/runs/${id}/page`, ui4.url), { headers: { 'accept-encoding': 'identity' } })).text();
        r.pageKept.push(performance.now() - t0);
      } finally {
        await ui4.close();
      }
      console.error(`${n} tasks: first visit answer ${r.answer.at(-1)?.toFixed(0)} ms, drawn ${r.drawn.at(-1)?.toFixed(0)} ms, TTI ${r.cold.at(-1)?.toFixed(0)} ms, after a restart (kept) ${r.kept.at(-1)?.toFixed(0)} ms, again ${r.warm.at(-1)?.toFixed(0)} ms; page answer ${r.page.at(-1)?.toFixed(0)} ms (kept ${r.pageKept.at(-1)?.toFixed(0)} ms), full run view ${r.api.at(-1)?.toFixed(0)} ms`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
const fmt = (xs: number[]) => `${Math.min(...xs).toFixed(0)} / ${(xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number).toFixed(0)} / ${Math.max(...xs).toFixed(0)}`;
const chromiumVersion = /[\d.]+/.exec(spawnSync(exe as string, ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[0] ?? '?';
const kib = (b: number) => (b < 2 ** 20 ? `${(b / 1024).toFixed(0)} KiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);
const section = `## Web view

\`pnpm tsx bench/ui.bench.ts\` (${new Date().toISOString().slice(0, 16)}Z; ${os.cpus().length} cores ${os.cpus()[0]?.model ?? ''}, load average at the start ${loadStart}, at the end ${load}; Node ${process.version}; headless Chromium ${chromiumVersion} from Debian via playwright-core). Time to interactive of the Run page: from navigation start until this run's DAG is drawn and a click on a task in the virtualised list has opened its panel (whose details are read on that click); a fresh browser process per measurement, the two sizes alternating, ${REPS} repetitions (min / median / max, ms). "first visit, cold": a fresh server over an empty page cache (it reads the run from the store); "after a restart": a fresh server over the page cache the previous one filled (the finished run's answer read from disk); "again": the same server a second time (the answer in memory). The 100-task run of the same pipeline is the baseline. "page answer" is \`/api/runs/:id/page\` from a fresh server, cold and from the page cache (the run with every task in brief, and its graph: \`LocalBackend.getRunOverview\`); "full view" is \`/api/runs/:id\` (\`LocalBackend.getRun\`, what \`sluice show --json\` prints), which the page does not read. All servers run in the bench's process (the code is compiled after the first repetition).

| run | first visit, cold: page answer parsed (ms) | DAG drawn (ms) | time to interactive, cold (ms) | after a restart, answer kept on disk (ms) | again, same server (ms) | page answer, fresh server, cold (ms) | page answer, fresh server, kept (ms) | page answer size (gzipped, as beyond loopback) | full view, fresh server (ms) | full view size | making the run |
|---|---|---|---|---|---|---|---|---|---|---|---|
${SIZES.map((n) => `| ${n.toLocaleString('en')} tasks (one loop) | ${fmt(results[n]!.answer)} | ${fmt(results[n]!.drawn)} | ${fmt(results[n]!.cold)} | ${fmt(results[n]!.kept)} | ${fmt(results[n]!.warm)} | ${fmt(results[n]!.page)} | ${fmt(results[n]!.pageKept)} | ${kib(results[n]!.pageBytes)} (${kib(results[n]!.pageGzip)}) | ${fmt(results[n]!.api)} | ${kib(results[n]!.bytes)} | ${(made[n]! / 1000).toFixed(1)} s |`).join('\n')}

The DAG is drawn from the IR with the loop as one group (per-iteration counts on its body), so its size does not grow with the iterations; the task list renders only the rows in view.
`;
const file = path.join(here, 'RESULTS.md');
const text = readFileSync(file, 'utf8');
const start = text.indexOf('## Web view');
const next = start < 0 ? -1 : text.indexOf('\n## ', start + 1);
writeFileSync(file, start < 0 ? `${text.trimEnd()}\n\n${section}` : `${text.slice(0, start)}${section}${next < 0 ? '' : text.slice(next + 1)}`);
console.log(section);
