/**
 * Local run of the quickstart (examples/tabular-training) with and without the code-hash cache:
 * `sluice run` as a user installs it (the packed install that bench/cli-start.bench.ts makes under
 * bench/.tmp/cli-start; run that first). Each case is a fresh process, cases alternate within
 * each repetition; "without" deletes <store>/code-hashes.json before the run, so the run bundles
 * the module graph with esbuild for the cache key as every run did before the cache.
 *
 *   pnpm tsx bench/run-codehash.bench.ts [--reps 7]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..');
const app = join(repo, 'bench', '.tmp', 'cli-start', 'app');
const sluice = join(app, 'node_modules', '@sluice', 'runner', 'bin', 'sluice.mjs');
if (!existsSync(sluice)) throw new Error(`no packed install at ${app}: run pnpm tsx bench/cli-start.bench.ts first`);
const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1]) || 7;
const store = join(app, '.sluice-codehash');
const env = { ...process.env, CI: '1', NODE_OPTIONS: '' };

/** The code hash alone, as a run computes it (a fresh process; kept: served by the cache file). */
function codeHashOnly(): number {
  const script = `const b = await import('@sluice/bundle'); const t = performance.now(); const r = await b.pipelineCodeHash('quickstart/pipeline.ts', undefined, { cacheFile: ${JSON.stringify(join(store, 'code-hashes.json'))} }); if (!('hash' in r)) throw new Error(r.error); r.save?.(); process.stdout.write(String(performance.now() - t));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pipelineCodeHash failed:\n${r.stderr}`);
  return Number(r.stdout);
}

function run(argv: readonly string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [sluice, 'run', 'quickstart/pipeline.ts', '--store', store, ...argv], { cwd: app, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`sluice run exited ${r.status}:\n${(r.stdout + r.stderr).slice(-2000)}`);
  return ms;
}

rmSync(store, { recursive: true, force: true });
run([]); // the store, the step cache and the code-hash cache
const cases: { name: string; argv: string[]; drop: boolean; only?: boolean }[] = [
  { name: 'the code hash alone (pipelineCodeHash in a fresh process, time of the call), cache kept', argv: [], drop: false, only: true },
  { name: 'the code hash alone, cache removed (esbuild bundles the graph)', argv: [], drop: true, only: true },
  { name: 're-run, every step a cache hit, code-hash cache kept', argv: [], drop: false },
  { name: 're-run, every step a cache hit, code-hash cache removed (esbuild bundles the graph)', argv: [], drop: true },
  { name: 'full run (--no-cache), code-hash cache kept', argv: ['--no-cache'], drop: false },
  { name: 'full run (--no-cache), code-hash cache removed', argv: ['--no-cache'], drop: true },
];
const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let i = 0; i < reps; i++) {
  for (const c of cases) {
    if (c.drop) rmSync(join(store, 'code-hashes.json'), { force: true });
    else if (!existsSync(join(store, 'code-hashes.json'))) run([]);
    times.get(c.name)!.push(c.only ? codeHashOnly() : run(c.argv));
  }
}
const min = (xs: number[]) => Math.min(...xs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`Machine: Node ${process.version}, ${cpus()[0]?.model.trim()}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; ${new Date().toISOString().slice(0, 16)}Z; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${reps} repetitions.\n`);
console.log('| case | fastest ms | median ms |');
console.log('|---|---:|---:|');
for (const c of cases) console.log(`| ${c.name} | ${min(times.get(c.name)!).toFixed(0)} | ${median(times.get(c.name)!).toFixed(0)} |`);
