/**
 * Web view benchmark: `pnpm tsx bench/ui.bench.ts`. Time to interactive of the Run page of a
 * 10,000-task run in headless Chromium (Debian's, through playwright-core), beside the same page
 * for a 100-task run of the same pipeline as the baseline: from navigation start until the DAG is
 * drawn and a click on a task of the (virtualised) list has opened its panel. Every measurement
 * uses a fresh browser process and every server is a fresh `sluice ui` process; the two sizes
 * alternate. Also the server's time for the run JSON. Prints a table for bench/RESULTS.md
 * (`## Web view`); figures, never assertions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { exe, fmt, load, makeRun, repo, startServer, visit } from './ui-common.ts';

const REPS = Number(process.env.REPS ?? 3);
const SIZES = [10_000, 100];

const loadStart = load();
if (!exe) throw new Error('no system Chromium (apt-get install -y chromium)');
const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-ui-bench-'));
const store = path.join(dir, '.sluice');
const ids: Record<number, string> = {};
const made: Record<number, number> = {};
for (const n of SIZES) {
  const r = await makeRun(store, n);
  made[n] = r.ms;
  ids[n] = r.id;
  console.error(`made a ${n}-task run in ${(r.ms / 1000).toFixed(1)} s`);
}
type R = { drawn: number[]; answer: number[]; cold: number[]; kept: number[]; warm: number[]; api: number[]; bytes: number; page: number[]; pageKept: number[]; pageBytes: number; pageGzip: number };
let caches = 0;
/** An empty page cache directory: a server over it reads the run from the store (a true cold first visit). */
const emptyCache = () => path.join(dir, `cache-${caches++}`);
const results: Record<number, R> = {};
/** `path` from a fresh server over `cacheDir`: how long the answer took, and the answer. */
async function fetchFresh(cacheDir: string, p: string): Promise<{ ms: number; body: string }> {
  const s = await startServer(repo, store, cacheDir);
  try {
    const t0 = performance.now();
    const body = await (await fetch(new URL(p, s.url), { headers: { 'accept-encoding': 'identity' } })).text();
    return { ms: performance.now() - t0, body };
  } finally {
    await s.close();
  }
}
try {
  for (let rep = 0; rep < REPS; rep++) {
    for (const n of SIZES) {
      const id = ids[n] as string;
      const r = (results[n] ??= { drawn: [], answer: [], cold: [], kept: [], warm: [], api: [], bytes: 0, page: [], pageKept: [], pageBytes: 0, pageGzip: 0 });
      const full = await fetchFresh(emptyCache(), `/api/runs/${id}`);
      r.api.push(full.ms);
      r.bytes = full.body.length;
      const page = await fetchFresh(emptyCache(), `/api/runs/${id}/page`);
      r.page.push(page.ms);
      r.pageBytes = page.body.length;
      // on loopback the answer goes as it is; beyond loopback it is gzipped (what that would weigh)
      r.pageGzip = gzipSync(page.body).length;
      // a fresh server over an empty page cache: the first visit pays for reading the run
      const cacheDir = emptyCache();
      const s = await startServer(repo, store, cacheDir);
      try {
        const first = await visit(s.url, id);
        r.cold.push(first.tti);
        r.answer.push(first.answer);
        r.drawn.push(first.drawn);
        r.warm.push((await visit(s.url, id)).tti);
      } finally {
        await s.close();
      }
      // a restarted server over the cache the first one filled: the answer is read from disk
      const s2 = await startServer(repo, store, cacheDir);
      try {
        r.kept.push((await visit(s2.url, id)).tti);
      } finally {
        await s2.close();
      }
      r.pageKept.push((await fetchFresh(cacheDir, `/api/runs/${id}/page`)).ms);
      console.error(`${n} tasks: first visit answer ${r.answer.at(-1)?.toFixed(0)} ms, drawn ${r.drawn.at(-1)?.toFixed(0)} ms, TTI ${r.cold.at(-1)?.toFixed(0)} ms, after a restart (kept) ${r.kept.at(-1)?.toFixed(0)} ms, again ${r.warm.at(-1)?.toFixed(0)} ms; page answer ${r.page.at(-1)?.toFixed(0)} ms (kept ${r.pageKept.at(-1)?.toFixed(0)} ms), full run view ${r.api.at(-1)?.toFixed(0)} ms; load ${load()}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const chromiumVersion = /[\d.]+/.exec(spawnSync(exe as string, ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[0] ?? '?';
const kib = (b: number) => (b < 2 ** 20 ? `${(b / 1024).toFixed(0)} KiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);
console.log(`\`pnpm tsx bench/ui.bench.ts\` (${new Date().toISOString().slice(0, 16)}Z; ${os.cpus().length} cores ${os.cpus()[0]?.model ?? ''}, load average at the start ${loadStart}, at the end ${load()}; Node ${process.version}; headless Chromium ${chromiumVersion} from Debian via playwright-core; every server a fresh \`sluice ui\` process, every visit a fresh browser; ${REPS} repetitions, min / median / max, ms)

| run | first visit, cold: page answer parsed (ms) | DAG drawn (ms) | time to interactive, cold (ms) | after a restart, answer kept on disk (ms) | again, same server (ms) | page answer, fresh server, cold (ms) | page answer, fresh server, kept (ms) | page answer size (gzipped, as beyond loopback) | full view, fresh server (ms) | full view size | making the run |
|---|---|---|---|---|---|---|---|---|---|---|---|
${SIZES.map((n) => `| ${n.toLocaleString('en')} tasks (one loop) | ${fmt(results[n]!.answer)} | ${fmt(results[n]!.drawn)} | ${fmt(results[n]!.cold)} | ${fmt(results[n]!.kept)} | ${fmt(results[n]!.warm)} | ${fmt(results[n]!.page)} | ${fmt(results[n]!.pageKept)} | ${kib(results[n]!.pageBytes)} (${kib(results[n]!.pageGzip)}) | ${fmt(results[n]!.api)} | ${kib(results[n]!.bytes)} | ${(made[n]! / 1000).toFixed(1)} s |`).join('\n')}`);
