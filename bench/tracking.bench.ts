/**
 * Tracking benchmark: `pnpm tsx bench/tracking.bench.ts`. Logging 10,000 metric points from one
 * step through the public API (`runPipeline` + `ctx.log.metric`): the overhead over the same run
 * logging nothing, on the embedded store and with a real MLflow server (the run is sent at its
 * end), beside MLflow's own Python client logging the same points to the same server
 * (`log_metric` one by one, and `log_batch` in batches of 1,000). Every case runs in a fresh
 * process; cases alternate; the best of the repetitions is kept. Writes the `## Tracking` section
 * of bench/RESULTS.md. Figures, never assertions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const POINTS = 10_000;
const REPS = 2;

if (process.argv[2] === '--case') {
  // child: one measurement, printed as JSON
  const [, , , kind, store, points] = process.argv;
  const { runPipeline } = await import('../packages/runner/src/index.ts');
  const entry = path.join(root, 'packages', 'tracking', 'test', 'fixtures', 'bench-pipeline.ts');
  const t0 = performance.now();
  const r = await runPipeline(entry, { storeDir: store as string, entry, mode: 'inprocess', params: { points: Number(points) }, noCache: true });
  const ms = performance.now() - t0;
  if (r.status !== 'succeeded') throw new Error(`${kind}: run ${r.status}: ${r.error}`);
  console.log(JSON.stringify({ ms, rssMiB: process.memoryUsage().rss / 2 ** 20 }));
  process.exit(0);
}

const { startMlflow, mlflowBin } = await import('../packages/tracking/test/support/mlflow-server.ts');
const server = await startMlflow();
const python = path.join(path.dirname(mlflowBin), 'python');
const pyScript = `
import sys, time, mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
uri, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = MlflowClient(uri)
exp = c.get_experiment_by_name("bench-py") or c.get_experiment(c.create_experiment("bench-py"))
run = c.create_run(exp.experiment_id)
t0 = time.perf_counter()
if mode == "one":
    for i in range(n): c.log_metric(run.info.run_id, "loss", 1/(i+1), timestamp=1700000000000+i, step=i)
else:
    ms = [Metric("loss", 1/(i+1), 1700000000000+i, i) for i in range(n)]
    for k in range(0, n, 1000): c.log_batch(run.info.run_id, metrics=ms[k:k+1000])
print((time.perf_counter()-t0)*1000)
`;
const pyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-py-')), 'log.py');
writeFileSync(pyFile, pyScript);

function sluiceCase(kind: string, points: number, env: NodeJS.ProcessEnv): { ms: number; rssMiB: number } {
  const store = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-trk-'));
  try {
    const r = spawnSync(path.join(root, 'node_modules', '.bin', 'tsx'), [fileURLToPath(import.meta.url), '--case', kind, store, String(points)], { encoding: 'utf8', env: { ...process.env, ...env } });
    if (r.status !== 0) throw new Error(`${kind} failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { ms: number; rssMiB: number };
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}
function pyCase(mode: 'one' | 'batch'): number {
  const r = spawnSync(python, [pyFile, server.uri, mode, String(POINTS)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python ${mode} failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

const noMlflow = { SLUICE_TRACKING_URI: '', MLFLOW_TRACKING_URI: '' };
const withMlflow = { SLUICE_TRACKING_URI: server.uri, SLUICE_TRACKING_EXPERIMENT: 'bench-sluice' };
const best: Record<string, number> = {};
const keep = (k: string, v: number) => { best[k] = Math.min(best[k] ?? Infinity, v); };
let rss0 = 0;
let rssN = 0;
try {
  for (let rep = 0; rep < REPS; rep++) {
    const base = sluiceCase('baseline', 0, noMlflow);
    const emb = sluiceCase('embedded', POINTS, noMlflow);
    keep('baseline', base.ms);
    keep('embedded', emb.ms);
    rss0 = Math.max(rss0, base.rssMiB);
    rssN = Math.max(rssN, emb.rssMiB);
    keep('baselineMlflow', sluiceCase('baseline-mlflow', 0, withMlflow).ms);
    keep('mlflow', sluiceCase('mlflow', POINTS, withMlflow).ms);
    keep('pyOne', pyCase('one'));
    keep('pyBatch', pyCase('batch'));
  }
} finally {
  await server.stop();
}

const f = (x: number) => x.toFixed(0);
const per = (x: number) => ((x * 1000) / POINTS).toFixed(1);
const embOver = (best.embedded as number) - (best.baseline as number);
const mlOver = (best.mlflow as number) - (best.baselineMlflow as number);
const section = `## Tracking

Measured by \`pnpm tsx bench/tracking.bench.ts\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (other engineers' builds and tests were running). ${POINTS.toLocaleString('en')} metric points from one step; each case a fresh process, cases alternating, best of ${REPS}. MLflow ${'3.17.2'} on 127.0.0.1 (\`--workers 1\`, SQLite backend), the same server for Sluice and for MLflow's Python client.

| what | ms for ${POINTS.toLocaleString('en')} points | us per point |
|---|---:|---:|
| Sluice, embedded store: run logging ${POINTS.toLocaleString('en')} points minus the same run logging none (${f(best.embedded as number)} − ${f(best.baseline as number)} ms) | ${f(embOver)} | ${per(embOver)} |
| Sluice, with MLflow (the run is sent at its end, \`log-batch\` of 1,000): minus the same run logging none (${f(best.mlflow as number)} − ${f(best.baselineMlflow as number)} ms) | ${f(mlOver)} | ${per(mlOver)} |
| MLflow Python client, \`log_metric\` one by one | ${f(best.pyOne as number)} | ${per(best.pyOne as number)} |
| MLflow Python client, \`log_batch\` of 1,000 | ${f(best.pyBatch as number)} | ${per(best.pyBatch as number)} |

Peak RSS of the run process: ${rss0.toFixed(0)} MiB logging nothing, ${rssN.toFixed(0)} MiB logging ${POINTS.toLocaleString('en')} points. A step appends its points to \`tracking.jsonl\` in its outputs (buffered, 256 lines or 200 ms); the runner ingests the file into SQLite after the attempt (one transaction) and sends the run to MLflow after the run, so a step never waits on the server.
`;
const file = path.join(here, 'RESULTS.md');
const old = readFileSync(file, 'utf8');
const start = old.indexOf('## Tracking');
const next = start < 0 ? -1 : old.indexOf('\n## ', start + 1);
const text = start < 0 ? `${old.trimEnd()}\n\n${section}` : `${old.slice(0, start)}${section}${next < 0 ? '' : old.slice(next + 1)}`;
writeFileSync(file, text);
console.log(section);
