/**
 * Store benchmark: `pnpm tsx bench/store-sqlite.bench.ts`. The local store's real workload on
 * better-sqlite3 (Node 20 and Node 22) and on Node 22's `node:sqlite`, to decide whether the store
 * should switch. Each case is a fresh process running the real code unchanged: a 10,000-task run
 * through `runPipeline` (in-process steps, 16 at a time, every tenth step failing once and retried,
 * two metric points per step) writes its task, attempt, consumption, cache and tracking rows in the
 * engine's group commits; then another fresh process reads them back through `openStore()` (the
 * query layer `sluice show` prints from): `runs.list`, `runs.get`, `runs.metrics`. For node:sqlite,
 * `bench/sqlite-hooks.mjs` resolves `better-sqlite3` to `bench/sqlite-node.mjs` (better-sqlite3's API
 * over node:sqlite); for better-sqlite3 on Node 22, to the workspace's package with the binding
 * `scripts/node22.sh binding` built. Cases alternate; REPS (default 3) rounds. Writes the `## Store`
 * section of bench/RESULTS.md. Figures, never assertions (the rows written are checked equal).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const ITEMS = Number(process.env.ITEMS ?? 10_000);

interface WriteResult { phase: 'write'; node: string; sqlite: string; runId: string; status: string; wallMs: number; cpuMs: number; storeMs: number; trackingMs: number; commits: number; rssMiB: number; rows: Record<string, number> }
interface ReadResult { phase: 'read'; node: string; sqlite: string; openMs: number; listMs: number; getMs: number; metricsMs: number; wallMs: number; cpuMs: number; tasks: number; attempts: number; points: number }

/** Times the top-level calls of every method of a class's prototype (nested calls are inside their caller's time). */
function timeMethods(proto: object, acc: { ms: number; commits?: number }): void {
  let depth = 0;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (name === 'constructor' || !d || typeof d.value !== 'function') continue;
    const f = d.value as (...a: unknown[]) => unknown;
    Object.defineProperty(proto, name, {
      ...d,
      value: function (this: unknown, ...a: unknown[]) {
        if (depth++ > 0) try { return f.apply(this, a); } finally { depth--; }
        const t0 = performance.now();
        try {
          if (name === 'flushNow' && acc.commits !== undefined && (this as { queue: unknown[] }).queue.length) acc.commits++;
          return f.apply(this, a);
        } finally {
          acc.ms += performance.now() - t0;
          depth--;
        }
      },
    });
  }
}

async function child(phase: string, dir: string, runId: string): Promise<void> {
  const sqlite = process.env.SLUICE_BENCH_SQLITE === 'node-sqlite' ? 'node:sqlite' : 'better-sqlite3';
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (phase === 'write') {
    const { StateStore } = await import('../packages/runner/src/store/state.ts');
    const { TrackingStore } = await import('../packages/tracking/src/embedded.ts');
    const { runPipeline } = await import('../packages/runner/src/index.ts');
    const store = { ms: 0, commits: 0 };
    const tracking = { ms: 0 };
    timeMethods(StateStore.prototype, store);
    timeMethods(TrackingStore.prototype, tracking);
    const entry = path.join(here, 'sqlite-pipeline.ts');
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    const r = await runPipeline(entry, { storeDir: dir, entry, mode: 'inprocess', params: { items: Array.from({ length: ITEMS }, (_, i) => i) }, concurrency: 16 });
    const wallMs = performance.now() - w0;
    const c = process.cpuUsage(c0);
    const s = StateStore.open(path.join(dir, 'state.db'), { readonly: true });
    const count = (t: string) => (s.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    const rows = Object.fromEntries(['tasks', 'attempts', 'artifacts', 'cache', 'consumptions', 'warnings'].map((t) => [t, count(t)]));
    s.close();
    const out: WriteResult = { phase: 'write', node: process.version, sqlite, runId: r.runId, status: r.status, wallMs, cpuMs: (c.user + c.system) / 1000, storeMs: store.ms, trackingMs: tracking.ms, commits: store.commits, rssMiB: process.resourceUsage().maxRSS / 1024, rows };
    console.log(JSON.stringify(out));
    return;
  }
  const { openStore } = await import('../packages/runner/src/index.ts');
  const o0 = performance.now();
  const s = openStore(dir);
  const openMs = performance.now() - o0;
  const l0 = performance.now();
  const listed = s.runs.list({ pipeline: 'store-bench' });
  const listMs = performance.now() - l0;
  const g0 = performance.now();
  const run = s.runs.get(runId);
  const getMs = performance.now() - g0;
  const m0 = performance.now();
  const points = await s.runs.metrics(runId);
  const metricsMs = performance.now() - m0;
  s.close();
  if (listed.length !== 1) throw new Error(`listed ${listed.length} runs`);
  const c = process.cpuUsage(cpu0);
  const out: ReadResult = {
    phase: 'read', node: process.version, sqlite, openMs, listMs, getMs, metricsMs, wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000,
    tasks: run.tasks.length, attempts: run.tasks.reduce((n, t) => n + t.attempts.length, 0), points: points.length,
  };
  console.log(JSON.stringify(out));
}

interface Case { readonly name: string; readonly node: string; readonly env: Record<string, string> }

function cases(): Case[] {
  const where = spawnSync('bash', [path.join(root, 'scripts', 'node22.sh')], { encoding: 'utf8' });
  if (where.status !== 0) throw new Error(`no Node 22: ${where.stderr}`);
  const node22 = path.join(where.stdout.trim(), 'bin', 'node');
  const binding = spawnSync('bash', [path.join(root, 'scripts', 'node22.sh'), 'binding'], { encoding: 'utf8' });
  if (binding.status !== 0) throw new Error(`no better-sqlite3 binding for Node 22: ${binding.stderr}`);
  return [
    { name: 'better-sqlite3, Node 20', node: process.execPath, env: {} },
    { name: 'better-sqlite3, Node 22', node: node22, env: { SLUICE_BENCH_SQLITE: 'better-binding', SLUICE_BENCH_BINDING: binding.stdout.trim() } },
    { name: 'node:sqlite, Node 22', node: node22, env: { SLUICE_BENCH_SQLITE: 'node-sqlite' } },
  ];
}

function spawnCase(c: Case, args: readonly string[]): WriteResult | ReadResult {
  const r = spawnSync(c.node, ['--import', 'tsx', '--import', path.join(here, 'sqlite-hooks.mjs'), fileURLToPath(import.meta.url), '--child', ...args], {
    cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...c.env, NODE_NO_WARNINGS: '1', SLUICE_TRACKING_URI: '', MLFLOW_TRACKING_URI: '' },
  });
  if (r.status !== 0) throw new Error(`${c.name} ${args[0]} exited ${r.status}\n${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as WriteResult | ReadResult;
}

async function main(): Promise<void> {
  const REPS = Number(process.env.REPS ?? 3);
  const cs = cases();
  const loadStart = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  const got = new Map<string, { w: WriteResult[]; r: ReadResult[] }>(cs.map((c) => [c.name, { w: [], r: [] }]));
  for (let rep = 0; rep < REPS; rep++) {
    // alternate, rotating which case goes first
    for (let k = 0; k < cs.length; k++) {
      const c = cs[(rep + k) % cs.length] as Case;
      const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-store-bench-'));
      try {
        const w = spawnCase(c, ['write', dir, '']) as WriteResult;
        if (w.status !== 'succeeded') throw new Error(`${c.name}: run ${w.status}`);
        const r = spawnCase(c, ['read', dir, w.runId]) as ReadResult;
        got.get(c.name)?.w.push(w);
        got.get(c.name)?.r.push(r);
        console.error(`${rep + 1}/${REPS} ${c.name} (${w.node}): write ${(w.wallMs / 1000).toFixed(1)} s, store ${(w.storeMs / 1000).toFixed(2)} s, ${w.commits} commits; read get ${r.getMs.toFixed(0)} ms; load ${os.loadavg()[0]?.toFixed(1)}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  // the same rows, whichever driver wrote them
  const shapes = new Set([...got.values()].flatMap((g) => [...g.w.map((w) => JSON.stringify(w.rows)), ...g.r.map((r) => `${r.tasks}/${r.attempts}/${r.points}`)]));
  const first = [...got.values()][0] as { w: WriteResult[]; r: ReadResult[] };
  const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] as number; };
  const span = (xs: number[], f = (x: number) => x.toFixed(0)) => `${f(med(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
  const s1 = (x: number) => (x / 1000).toFixed(2);
  const rowsW = [
    '| case | Node | run wall s | run CPU s | in the run store s | in the tracking store s | commits | peak RSS MiB |',
    '|---|---|---|---|---|---|---|---|',
    ...cs.map((c) => { const w = got.get(c.name)?.w ?? []; return `| ${c.name} | ${w[0]?.node} | ${span(w.map((x) => x.wallMs), s1)} | ${span(w.map((x) => x.cpuMs), s1)} | ${span(w.map((x) => x.storeMs), s1)} | ${span(w.map((x) => x.trackingMs), s1)} | ${span(w.map((x) => x.commits))} | ${span(w.map((x) => x.rssMiB))} |`; }),
  ];
  const rowsR = [
    '| case | open ms | runs.list ms | runs.get ms | runs.metrics ms | process CPU s |',
    '|---|---|---|---|---|---|',
    ...cs.map((c) => { const r = got.get(c.name)?.r ?? []; return `| ${c.name} | ${span(r.map((x) => x.openMs), (x) => x.toFixed(1))} | ${span(r.map((x) => x.listMs), (x) => x.toFixed(1))} | ${span(r.map((x) => x.getMs))} | ${span(r.map((x) => x.metricsMs))} | ${span(r.map((x) => x.cpuMs), s1)} |`; }),
  ];
  const section = [
    '## Store',
    '',
    `Measured by \`pnpm tsx bench/store-sqlite.bench.ts\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average at the start ${loadStart}, at the end ${load} (four other engineers' builds and tests and a CI run shared the 2 cores). ${ITEMS.toLocaleString('en')}-task run (\`bench/sqlite-pipeline.ts\`: a loop of in-process steps, 16 at a time, every tenth failing once and retried, two metric points each, then a fan-in) written by \`runPipeline\`, then read back in another fresh process through \`openStore()\`; each case a fresh pair of processes, the three cases alternating, ${REPS} rounds; median (min–max). The code is the same in every case: for node:sqlite, \`better-sqlite3\` resolves to \`bench/sqlite-node.mjs\` (better-sqlite3's API over \`node:sqlite\`, ${readFileSync(path.join(here, 'sqlite-node.mjs'), 'utf8').split('\n').length} lines). "in the run store" is the time spent in \`StateStore\`'s methods (the group commits included), "in the tracking store" in \`TrackingStore\`'s (the metric points). Rows written, identical in every case: ${JSON.stringify(first.w[0]?.rows)}; read back ${first.r[0]?.tasks} tasks, ${first.r[0]?.attempts} attempts, ${first.r[0]?.points} metric points${shapes.size === 2 ? '' : ` (WARNING: the cases differ: ${[...shapes].join(' | ')})`}.`,
    '',
    'Write (the run):',
    '',
    ...rowsW,
    '',
    'Read back (`openStore` in a fresh process):',
    '',
    ...rowsR,
    '',
  ].join('\n');
  console.log(section);
  const file = path.join(here, 'RESULTS.md');
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('\n## Store\n');
  const decision = start >= 0 ? /\n(### Decision[\s\S]*?)(?=\n## |$)/.exec(text.slice(start + 1))?.[1] : undefined;
  const rest = start >= 0 ? text.slice(start + 1).replace(/^## Store\n[\s\S]*?(?=\n## |$)/, '') : '';
  const next = `${start >= 0 ? text.slice(0, start + 1) : `${text.trimEnd()}\n\n`}${section}${decision ? `\n${decision.trimEnd()}\n` : ''}${rest}`;
  writeFileSync(file, next);
}

if (process.argv[2] === '--child') await child(process.argv[3] as string, process.argv[4] as string, process.argv[5] as string);
else await main();
