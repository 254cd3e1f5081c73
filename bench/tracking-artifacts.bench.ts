/**
 * Artifact upload benchmark: `pnpm tsx bench/tracking-artifacts.bench.ts`. Copies the same bytes
 * to a real MLflow server's artifact proxy with Sluice (`copyArtifacts`, what a run with
 * `tracking.artifacts` does) and with MLflow's own Python client (`log_artifact` for a file,
 * `log_artifacts` for a directory), each case a fresh process, cases alternating, timed inside the
 * process around the upload call only (process start and run creation excluded). Writes the
 * `## Tracking: artifact upload` section of bench/RESULTS.md. Figures, never assertions.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const REPS = 3;

if (process.argv[2] === '--case') {
  const [, , , uri, what, kind] = process.argv as string[];
  const { MlflowClient, copyArtifacts } = await import('../packages/tracking/src/index.ts');
  const client = new MlflowClient({ uri: uri as string });
  const exp = await client.ensureExperiment('bench-artifacts');
  const run = await client.createRun(exp, `sluice-${kind}`, [], Date.now());
  const t0 = performance.now();
  const r = await copyArtifacts(client, run, [{ output: 'model', type: 'Model', hash: `sha256:bench-${Date.now()}`, path: what as string }], 'all');
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ ms, bytes: r.bytes, files: r.files, rssMiB: process.memoryUsage().rss / 2 ** 20 }));
  process.exit(0);
}

const { startMlflow, mlflowBin } = await import('../packages/tracking/test/support/mlflow-server.ts');
const server = await startMlflow();
const python = path.join(path.dirname(mlflowBin), 'python');
const data = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-art-'));
const big = path.join(data, 'model.bin');
writeFileSync(big, randomBytes(64 * 2 ** 20));
const dir = path.join(data, 'bundle');
mkdirSync(dir);
for (let i = 0; i < 200; i++) writeFileSync(path.join(dir, `part-${String(i).padStart(3, '0')}.bin`), randomBytes(50 * 1024));
const pyFile = path.join(data, 'upload.py');
writeFileSync(pyFile, `
import sys, time, resource
from mlflow.tracking import MlflowClient
uri, what, kind = sys.argv[1], sys.argv[2], sys.argv[3]
c = MlflowClient(uri)
exp = c.get_experiment_by_name("bench-artifacts-py") or c.get_experiment(c.create_experiment("bench-artifacts-py"))
run = c.create_run(exp.experiment_id)
t0 = time.perf_counter()
if kind == "file": c.log_artifact(run.info.run_id, what, "model")
else: c.log_artifacts(run.info.run_id, what, "model")
print((time.perf_counter()-t0)*1000, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
`);

function sluiceCase(what: string, kind: string): { ms: number; rssMiB: number } {
  const r = spawnSync(path.join(root, 'node_modules', '.bin', 'tsx'), [fileURLToPath(import.meta.url), '--case', server.uri, what, kind], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sluice ${kind} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { ms: number; rssMiB: number };
}
function pyCase(what: string, kind: string): { ms: number; rssMiB: number } {
  const r = spawnSync(python, [pyFile, server.uri, what, kind], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python ${kind} failed: ${r.stderr}`);
  const [ms, rss] = r.stdout.trim().split('\n').at(-1)?.split(' ').map(Number) as [number, number];
  return { ms, rssMiB: rss };
}

const runs: Record<string, { ms: number[]; rss: number }> = {};
const add = (k: string, v: { ms: number; rssMiB: number }) => {
  const x = (runs[k] ??= { ms: [], rss: 0 });
  x.ms.push(v.ms);
  x.rss = Math.max(x.rss, v.rssMiB);
};
try {
  for (let rep = 0; rep < REPS; rep++) {
    add('sluiceFile', sluiceCase(big, 'file'));
    add('pyFile', pyCase(big, 'file'));
    add('sluiceDir', sluiceCase(dir, 'dir'));
    add('pyDir', pyCase(dir, 'dir'));
  }
} finally {
  await server.stop();
  rmSync(data, { recursive: true, force: true });
}

const best = (k: string) => Math.min(...(runs[k]?.ms ?? [Infinity]));
const median = (k: string) => {
  const s = [...(runs[k]?.ms ?? [])].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const mbs = (bytes: number, ms: number) => ((bytes / 2 ** 20) / (ms / 1000)).toFixed(0);
const FILE = 64 * 2 ** 20;
const DIR = 200 * 50 * 1024;
const row = (label: string, k: string, bytes: number) => `| ${label} | ${best(k).toFixed(0)} | ${median(k).toFixed(0)} | ${mbs(bytes, best(k))} | ${runs[k]?.rss.toFixed(0)} |`;
const section = `## Tracking: artifact upload

Measured by \`pnpm tsx bench/tracking-artifacts.bench.ts\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (other engineers' builds and tests were running). MLflow 3.17.2 on 127.0.0.1 (\`--workers 1\`, SQLite backend, \`--serve-artifacts\` to a local directory), the same server for both. Sluice: \`copyArtifacts\` (what \`tracking.artifacts\` runs after a task), streamed \`PUT /api/2.0/mlflow-artifacts/artifacts/...\`; MLflow: its Python client's \`log_artifact\` / \`log_artifacts\` (the same proxy). Each case a fresh process, cases alternating, ${REPS} repetitions; time taken inside the process around the upload call only.

| what | best ms | median ms | MiB/s (best) | peak RSS MiB |
|---|---:|---:|---:|---:|
${row('Sluice, one 64 MiB file', 'sluiceFile', FILE)}
${row('MLflow Python `log_artifact`, the same file', 'pyFile', FILE)}
${row('Sluice, a directory of 200 files of 50 KiB', 'sluiceDir', DIR)}
${row('MLflow Python `log_artifacts`, the same directory', 'pyDir', DIR)}

Both send a directory's files one after another (MLflow's \`HttpArtifactRepository.log_artifacts\` walks the directory; Sluice lists what the run already holds first, so that an interrupted copy sends only what is missing).
`;
const file = path.join(here, 'RESULTS.md');
const old = readFileSync(file, 'utf8');
const start = old.indexOf('## Tracking: artifact upload');
const next = start < 0 ? -1 : old.indexOf('\n## ', start + 1);
const text = start < 0 ? `${old.trimEnd()}\n\n${section}` : `${old.slice(0, start)}${section}${next < 0 ? '' : old.slice(next + 1)}`;
writeFileSync(file, text);
console.log(section);
