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

const here = path.dirname(fileURLToPath(import.meta.url));
const REPS = Number(process.env.REPS ?? 3);
const SIZES = [10_000, 100];

const { runPipeline } = await import('../packages/runner/src/index.ts');
const { startUi } = await import('../packages/ui/src/serve.ts');
const { buildClient } = await import('../packages/ui/src/assets.ts');
const { CHROMIUM_ARGS, chromium, chromiumPath } = await import('../packages/ui/test/browser.ts');

const exe = chromiumPath();
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
type R = { cold: number[]; warm: number[]; api: number[]; bytes: number };
const results: Record<number, R> = {};
async function visit(url: string, id: string): Promise<number> {
  const browser = await chromium.launch({ executablePath: exe as string, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${url}#/run/${id}`, { waitUntil: 'commit' });
    await page.waitForSelector('#run[data-ready] #dag g.node', { timeout: 120_000 });
    const row = page.locator('#tasks .vrow').nth(3);
    const key = await row.getAttribute('data-task');
    await row.click();
    await page.waitForFunction((k: string | null) => (globalThis as any).document.querySelector('#task-panel h3')?.textContent?.startsWith(k ?? ''), key, { timeout: 120_000 });
    return await page.evaluate(() => performance.now());
  } finally {
    await browser.close();
  }
}
try {
  for (let rep = 0; rep < REPS; rep++) {
    for (const n of SIZES) {
      const id = ids[n] as string;
      const r = (results[n] ??= { cold: [], warm: [], api: [], bytes: 0 });
      // a fresh server per repetition: the first visit pays for reading the run (LocalBackend.getRun), the second finds the finished run's view kept
      const ui = await startUi({ storeDir: store });
      try {
        const t0 = performance.now();
        const body = await (await fetch(new URL(`/api/runs/${id}?fresh=${rep}`, ui.url))).text();
        r.api.push(performance.now() - t0);
        r.bytes = body.length;
      } finally {
        await ui.close();
      }
      const ui2 = await startUi({ storeDir: store });
      try {
        r.cold.push(await visit(ui2.url, id));
        r.warm.push(await visit(ui2.url, id));
      } finally {
        await ui2.close();
      }
      console.error(`${n} tasks: TTI first visit ${r.cold.at(-1)?.toFixed(0)} ms, again ${r.warm.at(-1)?.toFixed(0)} ms; run JSON ${r.api.at(-1)?.toFixed(0)} ms`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
const fmt = (xs: number[]) => `${Math.min(...xs).toFixed(0)} / ${(xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number).toFixed(0)} / ${Math.max(...xs).toFixed(0)}`;
const chromiumVersion = /[\d.]+/.exec(spawnSync(exe as string, ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[0] ?? '?';
const section = `## Web view

\`pnpm tsx bench/ui.bench.ts\` (${new Date().toISOString().slice(0, 16)}Z; ${os.cpus().length} cores ${os.cpus()[0]?.model ?? ''}, load average at the end ${load}; Node ${process.version}; headless Chromium ${chromiumVersion} from Debian via playwright-core). Time to interactive of the Run page: from navigation start until the DAG is drawn and a click on a task in the virtualised list has opened its panel; a fresh browser process per measurement and a fresh server per repetition (first visit: the server reads the run through LocalBackend.getRun; again: a finished run's view is kept until its record changes), the two sizes alternating, ${REPS} repetitions (min / median / max, ms). The 100-task run of the same pipeline is the baseline. "run JSON" is the server's answer to \`/api/runs/:id\` (the LocalBackend view) as the page fetches it.

| run | time to interactive, first visit (ms) | again, view kept (ms) | run JSON from a fresh server (ms) | run JSON size | making the run |
|---|---|---|---|---|---|
${SIZES.map((n) => `| ${n.toLocaleString('en')} tasks (one loop) | ${fmt(results[n]!.cold)} | ${fmt(results[n]!.warm)} | ${fmt(results[n]!.api)} | ${(results[n]!.bytes / 2 ** 20).toFixed(1)} MiB | ${(made[n]! / 1000).toFixed(1)} s |`).join('\n')}

The DAG is drawn from the IR with the loop as one group (per-iteration counts on its body), so its size does not grow with the iterations; the task list renders only the rows in view.
`;
const file = path.join(here, 'RESULTS.md');
const text = readFileSync(file, 'utf8');
const start = text.indexOf('## Web view');
const next = start < 0 ? -1 : text.indexOf('\n## ', start + 1);
writeFileSync(file, start < 0 ? `${text.trimEnd()}\n\n${section}` : `${text.slice(0, start)}${section}${next < 0 ? '' : text.slice(next + 1)}`);
console.log(section);
