/**
 * The Run page of a 10,000-task run, this tree's `sluice ui` beside another tree's (a checkout of
 * an earlier commit, `pnpm install`ed), alternating over one store: `pnpm tsx bench/ui-ab.ts
 * <other tree>`. Each visit has a fresh server process and a fresh browser: a cold first visit
 * (the server over an empty page cache reads the run from the store), then a first visit after a
 * restart (a fresh server over the cache the first one filled). The order of the two trees
 * alternates from one repetition to the next. Prints a table; figures, never assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exe, fmt, load, makeRun, repo, startServer, visit, type Visit } from './ui-common.ts';

const other = path.resolve(process.argv[2] as string);
const REPS = Number(process.env.REPS ?? 7);
const N = Number(process.env.TASKS ?? 10_000);
if (!exe) throw new Error('no system Chromium (apt-get install -y chromium)');
const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-ui-ab-'));
const store = path.join(dir, '.sluice');
const { id } = await makeRun(store, N);
const trees = { before: other, after: repo };
type Out = { cold: Visit[]; kept: Visit[]; loads: number[] };
const out: Record<string, Out> = { before: { cold: [], kept: [], loads: [] }, after: { cold: [], kept: [], loads: [] } };
const loadStart = load();
const startedAt = new Date().toISOString().slice(0, 16);
let caches = 0;
/** One visit through a fresh server process of `tree`, stopped afterwards. */
async function visitOnce(tree: string, cacheDir: string): Promise<Visit> {
  const s = await startServer(tree, store, cacheDir);
  try {
    return await visit(s.url, id);
  } finally {
    await s.close();
  }
}
try {
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 ? (['after', 'before'] as const) : (['before', 'after'] as const);
    for (const name of order) {
      const o = out[name] as Out;
      const cacheDir = path.join(dir, `cache-${caches++}`);
      o.loads.push(os.loadavg()[0] as number);
      o.cold.push(await visitOnce(trees[name], cacheDir));
      o.kept.push(await visitOnce(trees[name], cacheDir));
      console.error(`${rep} ${name}: cold TTI ${o.cold.at(-1)?.tti.toFixed(0)} ms (answer parsed ${o.cold.at(-1)?.answer.toFixed(0)}, DAG drawn ${o.cold.at(-1)?.drawn.toFixed(0)}), after a restart ${o.kept.at(-1)?.tti.toFixed(0)} ms; load ${load()}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${startedAt}Z -> ${new Date().toISOString().slice(11, 16)}Z, load ${loadStart} -> ${load()}, ${N.toLocaleString('en')} tasks, ${REPS} repetitions alternating, a fresh \`sluice ui\` process and a fresh Chromium per visit (min / median / max, ms)`);
console.log('| tree | cold first visit: page answer parsed | DAG drawn | time to interactive, cold | after a restart: time to interactive | load (1 min) at the visits |\n|---|---|---|---|---|---|');
for (const [name, o] of Object.entries(out)) console.log(`| ${name} | ${fmt(o.cold.map((v) => v.answer))} | ${fmt(o.cold.map((v) => v.drawn))} | ${fmt(o.cold.map((v) => v.tti))} | ${fmt(o.kept.map((v) => v.tti))} | ${Math.min(...o.loads).toFixed(1)}-${Math.max(...o.loads).toFixed(1)} |`);
