/** Where the 10,000-task Run page's time goes (a look, not the benchmark): `pnpm tsx bench/ui-profile.ts <storeDir>`. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const store = process.argv[2] as string;
const { runPipeline, LocalBackend } = await import('../packages/runner/src/index.ts');
const { startUi } = await import('../packages/ui/src/serve.ts');
const { CHROMIUM_ARGS, chromium, chromiumPath } = await import('../packages/ui/test/browser.ts');
const entry = path.join(here, 'ui-pipeline.ts');
if (!existsSync(path.join(store, 'state.db'))) await runPipeline(entry, { storeDir: store, entry, mode: 'inprocess', params: { items: Array.from({ length: 10_000 }, (_, i) => i) }, noCache: true, concurrency: 16 });
const b = new LocalBackend(store);
const id = (await b.listRuns({ limit: 1 }))[0]!.id;
for (let i = 0; i < 3; i++) {
  let t0 = performance.now();
  await b.getRun(id);
  console.log(`getRun ${(performance.now() - t0).toFixed(0)} ms`);
  t0 = performance.now();
  await b.getRunOverview(id);
  console.log(`getRunOverview ${(performance.now() - t0).toFixed(0)} ms`);
}
const ui = await startUi({ storeDir: store });
for (const p of ['', '/page', '/graph', '/metrics']) {
  const t0 = performance.now();
  await (await fetch(new URL(`/api/runs/${id}${p}`, ui.url))).text();
  console.log(`GET /api/runs/:id${p} ${(performance.now() - t0).toFixed(0)} ms`);
}
const browser = await chromium.launch({ executablePath: chromiumPath() as string, headless: true, args: CHROMIUM_ARGS });
for (let i = 0; i < 2; i++) {
  const page = await browser.newPage();
  await page.goto(`${ui.url}#/run/${id}`, { waitUntil: 'commit' });
  await page.waitForSelector(`#run[data-run="${id}"][data-ready] #dag g.node`, { timeout: 120_000 });
  const t = await page.evaluate(() => ({ now: performance.now(), res: performance.getEntriesByType('resource').map((r) => [r.name.replace(/^.*\/\/[^/]+/, ''), Math.round(r.startTime), Math.round((r as unknown as { responseEnd: number }).responseEnd)]) }));
  console.log(JSON.stringify(t));
  await page.close();
}
await browser.close();
await ui.close();
