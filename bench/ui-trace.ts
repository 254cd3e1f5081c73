/**
 * A Chromium performance trace of the biggest run's page in a store (a look, not the benchmark):
 * `pnpm tsx bench/ui-trace.ts <storeDir> [tree]` (make one with bench/ui-profile.ts), through a
 * fresh `sluice ui` process of the tree (default: this one) over an empty page cache, as the
 * bench's cold first visit. Prints the resource timings, the page's marks, a click's round trip,
 * and the main-thread events over 8 ms.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repo, startServer } from './ui-common.ts';
const { CHROMIUM_ARGS, chromium, chromiumPath } = await import('../packages/ui/test/browser.ts');
const { StateStore, storePaths } = await import('../packages/runner/src/index.ts');
const storeDir = path.resolve(process.argv[2] as string);
const tree = path.resolve(process.argv[3] ?? repo);
const p = storePaths(storeDir);
const traceFile = path.join(os.tmpdir(), `sluice-ui-trace-${process.pid}.json`);
const s = StateStore.open(p.db, { readonly: true });
const id = (s.db.prepare("select run_id from tasks group by run_id order by count(*) desc limit 1").pluck().get()) as string;
s.close();
const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-ui-trace-cache-'));
const ui = await startServer(tree, storeDir, cacheDir);
const browser = await chromium.launch({ executablePath: chromiumPath()!, headless: true, args: CHROMIUM_ARGS });
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
await browser.startTracing(page, { path: traceFile, categories: ['devtools.timeline', 'v8.execute', 'blink.user_timing'] });
await page.goto(`${ui.url}#/run/${id}`, { waitUntil: 'commit' });
await page.waitForSelector(`#run[data-run="${id}"] #dag g.node`);
const t0 = Date.now();
await page.evaluate(() => (globalThis as any).document.querySelectorAll('#tasks .vrow')[3].click());
await page.waitForSelector('#task-panel[data-task] #cache');
console.log('click->panel (incl. CDP)', Date.now() - t0);
await browser.stopTracing();
const res = await page.evaluate(() => performance.getEntriesByType('resource').map((r: any) => [r.name.replace(/^.*\/\/[^/]+/, '').slice(0, 60), Math.round(r.startTime), Math.round(r.responseStart), Math.round(r.responseEnd)]));
console.log(JSON.stringify(res));
console.log(JSON.stringify(await page.evaluate(() => performance.getEntriesByType('mark').map((m) => [m.name, Math.round(m.startTime)]))));
await browser.close(); await ui.close();
rmSync(cacheDir, { recursive: true, force: true });
const tr = JSON.parse(readFileSync(traceFile, 'utf8'));
const ev = (tr.traceEvents ?? tr).filter((e: any) => e.ph === 'X' && e.dur > 8000);
const agg = new Map<string, number>();
for (const e of ev) agg.set(e.name, (agg.get(e.name) ?? 0) + e.dur / 1000);
console.log([...agg].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${k} ${v.toFixed(0)}ms`).join('\n'));
const big = ev.filter((e: any) => ['FunctionCall', 'EvaluateScript', 'v8.compile', 'ParseHTML', 'Layout', 'UpdateLayoutTree', 'Paint', 'EventDispatch', 'TimerFire', 'RunMicrotasks', 'v8.run'].includes(e.name)).map((e: any) => `${e.name} ${(e.dur / 1000).toFixed(0)}ms ${e.args?.data?.url?.slice(-30) ?? e.args?.data?.functionName ?? e.args?.data?.type ?? ''}`);
console.log(big.slice(0, 40).join('\n'));
console.log(`trace: ${traceFile}`);
