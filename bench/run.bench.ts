/**
 * Run benchmark: `pnpm tsx bench/run.bench.ts [--full]`. Per-step overhead of the local engine
 * with durable state (SQLite WAL) for chains and fan-outs of no-op steps, in-process and in child
 * processes; resume of a 10,000-step run killed half way; a fully cached re-run of 1,000 steps;
 * and DBOS durable steps on a loopback PostgreSQL, side by side. Writes the `## Run` section of
 * bench/RESULTS.md. Figures, never assertions.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runPipeline } from '../packages/runner/src/index.ts';
import { chain, fanout } from './run-fixtures.ts';
import { startPostgres } from './run-pg.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const full = process.argv.includes('--full');
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
const lines: string[] = [];
const log = (s: string) => {
  console.log(s);
  lines.push(s);
};

async function timed(f: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

async function best(reps: number, f: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  let b = { ms: Infinity, cpuMs: Infinity };
  for (let i = 0; i < reps; i++) {
    const r = await timed(f);
    if (r.ms < b.ms) b = r;
  }
  return b;
}

const us = (ms: number, n: number) => ((ms * 1000) / n).toFixed(1);

// ---- warm up (module loading, JIT) -------------------------------------------------------
await runPipeline(chain(200), { storeDir: tmp(), mode: 'inprocess', gpus: [] });

// ---- in-process engine overhead ------------------------------------------------------------
const engineRows: string[] = [];
const perStep: Record<string, number> = {};
const cpuPerStep: Record<string, number> = {};
for (const shape of ['chain', 'fan-out'] as const) {
  for (const n of [100, 1000, 10000]) {
    const p = shape === 'chain' ? chain(n) : fanout(n);
    const r = await best(n >= 10000 ? 2 : 3, () => runPipeline(p, { storeDir: tmp(), mode: 'inprocess', gpus: [] }).then((x) => {
      if (x.status !== 'succeeded') throw new Error(`${shape} ${n}: ${x.status} ${x.error}`);
    }));
    perStep[`${shape}-${n}`] = (r.ms * 1000) / n;
    cpuPerStep[`${shape}-${n}`] = (r.cpuMs * 1000) / n;
    engineRows.push(`| ${shape} | ${n.toLocaleString('en')} | in-process | ${r.ms.toFixed(0)} | ${us(r.ms, n)} | ${us(r.cpuMs, n)} |`);
  }
}

// ---- fixed cost of a run -------------------------------------------------------------------
const one = await best(5, () => runPipeline(chain(1, 'one-step'), { storeDir: tmp(), mode: 'inprocess', gpus: [] }));

// ---- child processes: warm workers (default) and a fresh process per attempt ---------------
const entry = path.join(here, 'run-fixtures.ts');
const childRows: string[] = [];
for (const fresh of [false, true]) {
  for (const [exportName, shape, n] of [['chain100', 'chain', 100], ['fanout100', 'fan-out', 100], ...(full ? [['fanout1000', 'fan-out', 1000]] : [])] as [string, string, number][]) {
    const r = await timed(() => runPipeline(entry, { storeDir: tmp(), entry, exportName, mode: 'process', gpus: [], ...(fresh ? { freshProcesses: true } : {}) }).then((x) => {
      if (x.status !== 'succeeded') throw new Error(`${exportName}: ${x.status} ${x.error}`);
    }));
    perStep[`process${fresh ? '-fresh' : ''}-${shape}-${n}`] = (r.ms * 1000) / n;
    childRows.push(`| ${shape} | ${n.toLocaleString('en')} | child processes, ${fresh ? 'a fresh one per attempt (`--fresh-processes`)' : 'warm workers'} (${os.cpus().length} at a time) | ${r.ms.toFixed(0)} | ${us(r.ms, n)} | ${us(r.cpuMs, n)} (runner only) |`);
  }
}

// ---- the quickstart (examples/tabular-training, 16 steps) through the CLI, both ways --------
const quick: Record<string, number> = {};
const bin = path.join(here, '../packages/runner/bin/sluice.mjs');
const quickEntry = path.join(here, '../examples/tabular-training/pipeline.ts');
if (existsSync(quickEntry)) {
  for (const fresh of [false, true]) {
    const store = tmp();
    quick[fresh ? 'fresh' : 'warm'] = (await best(2, () => new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, 'run', quickEntry, '--store', store, '--no-cache', ...(fresh ? ['--fresh-processes'] : [])], { cwd: path.join(here, '..'), env: { ...process.env, CI: '1' }, stdio: 'ignore' });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`quickstart exited with ${code}`))));
    }))).ms;
  }
}

// ---- resume of a 10,000-step run killed half way; cached re-run of 1,000 ---------------------
const resumeDir = tmp();
await new Promise<void>((resolve, reject) => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'run-worker.ts'), 'chain10000', resumeDir, 'resume-10000'], {
    env: { ...process.env, SLUICE_CRASH_AT: 'commit.after:5000' }, stdio: 'inherit',
  });
  child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`worker ended with ${code ?? signal}, expected SIGKILL`))));
});
const { chain10000 } = await import('./run-fixtures.ts');
let resumedCount = 0;
const resume = await timed(() => runPipeline(chain10000, { storeDir: resumeDir, mode: 'inprocess', resume: 'resume-10000', gpus: [], onEvent: (e) => { if (e.type === 'task.succeeded') resumedCount++; } }));

const cacheDir = tmp();
const c1000 = chain(1000, 'cached-1000');
await runPipeline(c1000, { storeDir: cacheDir, mode: 'inprocess', gpus: [] });
let hits = 0;
const cached = await timed(() => runPipeline(c1000, { storeDir: cacheDir, mode: 'inprocess', gpus: [], onEvent: (e) => { if (e.type === 'task.cached') hits++; } }));

// ---- DBOS side by side ---------------------------------------------------------------------
let dbos: { rows: string[]; note: string; perStepMs: Record<number, number> } = { rows: [], note: '', perStepMs: {} };
try {
  const req = createRequire(path.join(here, '../packages/runner/package.json'));
  let pkgDir = path.dirname(req.resolve('@dbos-inc/dbos-sdk'));
  while (!existsSync(path.join(pkgDir, 'package.json')) || !readFileSync(path.join(pkgDir, 'package.json'), 'utf8').includes('"@dbos-inc/dbos-sdk"')) pkgDir = path.dirname(pkgDir);
  const dbosPkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const { DBOS } = (await import(pathToFileURL(req.resolve('@dbos-inc/dbos-sdk')).href)) as { DBOS: any };
  const pg = startPostgres();
  try {
    DBOS.setConfig({ name: 'sluice-bench', systemDatabaseUrl: 'postgres://postgres@127.0.0.1:54329/sluice_bench_dbos', logLevel: 'error' });
    const step = DBOS.registerStep(async (x: number) => x, { name: 'noop' });
    const wf = DBOS.registerWorkflow(async (n: number) => {
      let x = 0;
      for (let i = 0; i < n; i++) x = await step(x);
      return x;
    }, { name: 'chain' });
    await DBOS.launch();
    await (await DBOS.startWorkflow(wf)(50)).getResult(); // warm up
    for (const n of [100, 1000]) {
      // repetitions alternate between the two systems, so that background load (and PostgreSQL's own
      // background writes) falls on both alike; the best of each is kept
      let d = { ms: Infinity, cpuMs: Infinity };
      let s = d;
      let f = d;
      for (let rep = 0; rep < 3; rep++) {
        const dr = await timed(async () => (await DBOS.startWorkflow(wf)(n)).getResult());
        const sr = await timed(() => runPipeline(chain(n), { storeDir: tmp(), mode: 'inprocess', gpus: [] }));
        const fr = await timed(() => runPipeline(chain(n), { storeDir: tmp(), mode: 'inprocess', gpus: [], durability: 'full' }));
        if (dr.ms < d.ms) d = dr;
        if (sr.ms < s.ms) s = sr;
        if (fr.ms < f.ms) f = fr;
      }
      dbos.perStepMs[n] = d.ms / n;
      dbos.perStepMs[-n] = s.ms / n;
      dbos.rows.push(`| ${n.toLocaleString('en')} durable steps in a chain | ${(d.ms / n).toFixed(3)} ms | ${(s.ms / n).toFixed(3)} ms (${(d.ms / s.ms).toFixed(1)}×) | ${(f.ms / n).toFixed(3)} ms (${(d.ms / f.ms).toFixed(1)}×) |`);
    }
    await DBOS.shutdown();
    dbos.note = `DBOS ${dbosPkg.version} (\`DBOS.registerWorkflow\` + \`DBOS.registerStep\`, one workflow running N no-op steps in sequence) on ${pg.version}, started on 127.0.0.1 by the benchmark with default settings (fsync and synchronous_commit on).`;
  } finally {
    pg.stop();
  }
} catch (e) {
  dbos.note = `DBOS could not be measured in this run: ${(e as Error).message.split('\n')[0]}`;
}

// ---- report --------------------------------------------------------------------------------
const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
log('## Run');
log('');
log(`Measured by \`pnpm tsx bench/run.bench.ts${full ? ' --full' : ''}\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average at the end ${load} (other work was running on the machine; figures are the best of 2–3 repetitions). Every state change is committed to SQLite (WAL, synchronous=NORMAL: survives a killed process; \`--durability=full\` also survives a power cut) before anything depends on it. Commits are grouped: a step's success and the start of the step that follows share one transaction, and no attempt runs before its transaction is committed (a chain costs one commit per step; a fan-out shares commits between the steps that start together). The wall-clock figures suffer from the load of other work on the machine; the CPU column is the runner's own CPU time.`);
log('');
log('### Engine overhead per no-op step');
log('');
log('| shape | steps | mode | total ms | µs per step (wall) | µs per step (CPU) |');
log('|---|---:|---|---:|---:|---:|');
for (const r of [...engineRows, ...childRows]) log(r);
log('');
log(`A one-step run takes ${one.ms.toFixed(1)} ms in all (${one.cpuMs.toFixed(1)} ms CPU): the fixed cost of a run (opening the store, git state read in parallel, the run record, the final commit and closing the store, whose WAL checkpoint grows with the run).`);
log('');
const marginal = (shape: string) => ((perStep[`${shape}-10000`]! * 10000 - perStep[`${shape}-1000`]! * 1000) / 9000).toFixed(1);
log(`Going from 1,000 to 10,000 steps costs ${marginal('chain')} µs per added step (chain) and ${marginal('fan-out')} µs (fan-out); the higher average at 100 steps is the fixed cost of a run. A warm worker loads the pipeline once and then costs a message, the step's log and its output files per step; a fresh process per attempt (\`--fresh-processes\`, as in an Argo pod) costs a Node start, tsx and loading the pipeline file every time. 10,000 child-process steps were not run (≈${((perStep['process-fan-out-100']! * 10000) / 1e6 / 60).toFixed(1)} min with warm workers at the measured rate${full ? '' : '; `--full` adds a 1,000-step fan-out'}).${quick.warm ? ` The quickstart (\`sluice run examples/tabular-training/pipeline.ts --no-cache\`, 16 steps, real model training, best of 2 including CLI start): ${(quick.warm / 1000).toFixed(1)} s with warm workers, ${((quick.fresh ?? 0) / 1000).toFixed(1)} s with \`--fresh-processes\`.` : ''}`);
log('');
log('### Resume and cache');
log('');
log(`| case | result |`);
log('|---|---|');
log(`| resume a 10,000-step chain killed (SIGKILL) half way (at its 5,000th commit) | ${resume.ms.toFixed(0)} ms: ${resumedCount.toLocaleString('en')} steps executed, ${(10000 - resumedCount).toLocaleString('en')} finished ones taken from the state store |`);
log(`| fully cached re-run of a 1,000-step chain | ${cached.ms.toFixed(0)} ms (${us(cached.ms, 1000)} µs per step), ${hits.toLocaleString('en')} cache hits |`);
log('');
log('### DBOS, same machine, same run');
log('');
log(dbos.note);
log('');
if (dbos.rows.length) {
  log('| case | DBOS per step | Sluice per step, in-process, default durability (ratio) | Sluice, `--durability=full`: fsync per commit like DBOS (ratio) |');
  log('|---|---:|---:|---:|');
  for (const r of dbos.rows) log(r);
  log('');
  const ratio = dbos.perStepMs[1000]! / dbos.perStepMs[-1000]!;
  log(`The issue quotes about 2.86 ms per DBOS durable step on this class of machine and asks for at least 25× less overhead per durable in-process step (≤ 0.114 ms). Measured side by side here: ${dbos.perStepMs[-1000]!.toFixed(3)} ms per Sluice step against ${dbos.perStepMs[1000]!.toFixed(3)} ms per DBOS step (${ratio.toFixed(0)}×, 1,000-step chains); ${(perStep['chain-10000']! / 1000).toFixed(3)} ms wall and ${(cpuPerStep['chain-10000']! / 1000).toFixed(3)} ms CPU per step for the 10,000-step chain above. Against the quoted 2.86 ms that is ${(2.86 / (perStep['chain-10000']! / 1000)).toFixed(0)}× (wall, loaded machine) and ${(2.86 / (cpuPerStep['chain-10000']! / 1000)).toFixed(0)}× (CPU). The default modes differ: DBOS waits for PostgreSQL's fsync on every step; Sluice's default waits for the WAL write (enough for a killed process, not for a power cut); the last column makes Sluice fsync every commit too.`);
}
log('');

const results = path.join(here, 'RESULTS.md');
const old = existsSync(results) ? readFileSync(results, 'utf8') : '# Benchmarks\n';
const section = lines.join('\n');
const re = /^## Run\n[\s\S]*?(?=^## |(?![\s\S]))/m;
writeFileSync(results, re.test(old) ? old.replace(re, section + '\n') : `${old.trimEnd()}\n\n${section}\n`);
rmSync(resumeDir, { recursive: true, force: true });
console.log(`wrote the Run section of ${results}`);
