/**
 * CLI start: the `sluice` command as a user installs it (packed tarballs in an npm project under
 * bench/.tmp/cli-start, plain npm) against `node -e 0`, and `sluice compile` of the quickstart
 * (examples/tabular-training), first (nothing cached) and repeated (the built pipeline modules and the module-graph hash kept), against `kfp dsl compile` of the same shape (bench/peers/kfp_tabular.py,
 * kfp 2.17.3 in a venv under bench/.tmp; bench only). Cases alternate within each repetition, each a
 * fresh process; the table gives the fastest and the median wall time.
 *
 *   pnpm tsx bench/cli-start.bench.ts [--reps 9] [--reinstall]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';

const repo = join(import.meta.dirname, '..');
const work = join(repo, 'bench', '.tmp', 'cli-start');
const app = join(work, 'app');
const venv = join(repo, 'bench', '.tmp', 'kfp-venv');
const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1]) || 9;
// the user cache directory of the sluice command (its built pipeline modules, graph-load.ts), the bench's own
const cache = join(work, 'cache');
const env = { ...process.env, npm_config_nodedir: dirname(dirname(process.execPath)), npm_config_build_from_source: 'true', npm_config_audit: 'false', npm_config_fund: 'false', NODE_OPTIONS: '', SLUICE_CACHE: cache };

function run(cmd: string, argv: readonly string[], cwd: string): { ms: number; code: number | null; out: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  return { ms, code: r.status, out: `${r.stdout}${r.stderr}` };
}
function must(cmd: string, argv: readonly string[], cwd: string): string {
  const r = run(cmd, argv, cwd);
  if (r.code !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.code}:\n${r.out.slice(-3000)}`);
  return r.out;
}

// 1. The project, from the packed tarballs.
if (args.includes('--reinstall')) rmSync(work, { recursive: true, force: true });
const packs = join(work, 'packs');
rmSync(packs, { recursive: true, force: true });
for (const p of ['sdk', 'tracking', 'compiler', 'executor', 'bundle', 'cluster', 'triggers', 'runner', 'create-sluice']) must('pnpm', ['pack', '--pack-destination', packs], join(repo, 'packages', p));
const deps: Record<string, string> = { zod: '^4.6.0', 'ml-logistic-regression': '^2.0.0', 'ml-matrix': '^6.15.1', 'ml-random-forest': '^2.1.0' };
for (const f of readdirSync(packs)) deps[f.startsWith('create-sluice') ? 'create-sluice' : `@sluice/${f.replace(/^sluice-/, '').replace(/-\d.*$/, '')}`] = `file:${join(packs, f)}`;
mkdirSync(app, { recursive: true });
writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'cli-start', private: true, type: 'module', dependencies: deps, allowScripts: { 'better-sqlite3': true, esbuild: true } }, null, 2)}\n`);
// npm keeps an installed file: dependency whose tarball name did not change: take the Sluice
// packages out first so that the packs just made are the ones measured
for (const d of [join(app, 'node_modules', '@sluice'), join(app, 'node_modules', 'create-sluice'), join(app, 'package-lock.json')]) rmSync(d, { recursive: true, force: true });
must('npm', ['install'], app);
if (!existsSync(join(app, 'node_modules', '@sluice', 'runner', 'dist', 'index.js'))) throw new Error('the packed runner is not installed');
const quick = join(app, 'quickstart');
rmSync(quick, { recursive: true, force: true });
for (const part of ['pipeline.ts', 'src', 'data']) cpSync(join(repo, 'examples', 'tabular-training', part), join(quick, part), { recursive: true });
const sluice = join(app, 'node_modules', '@sluice', 'runner', 'bin', 'sluice.mjs');
rmSync(join(app, '.sluice'), { recursive: true, force: true });
const first = must(process.execPath, [sluice, 'run', 'quickstart/pipeline.ts'], app);
const runId = /run (\S+) succeeded/.exec(first)?.[1];
if (!runId) throw new Error(`the quickstart did not succeed:\n${first}`);

// 2. KFP, bench only.
const kfp = join(venv, 'bin', 'kfp');
if (!existsSync(kfp)) {
  must('python3', ['-m', 'venv', venv], repo);
  must(join(venv, 'bin', 'pip'), ['install', '-q', 'kfp==2.17.3'], repo);
}
const kfpVersion = must(join(venv, 'bin', 'python'), ['-c', 'import kfp; print(kfp.__version__)'], repo).trim();

// 3. Cases, alternating.
const out = join(work, 'out');
mkdirSync(out, { recursive: true });
// the first compile of a code version: no built pipeline modules, no module-graph hash and no source
// facts recorded (in the store, which the quickstart's run made, nor in the user cache directory)
const forget = () => {
  rmSync(join(cache, 'load'), { recursive: true, force: true });
  rmSync(join(cache, 'code-hashes.json'), { force: true });
  rmSync(join(cache, 'source-facts.json'), { force: true });
  rmSync(join(app, '.sluice', 'code-hashes.json'), { force: true });
};
const cases: { name: string; cmd: string; argv: string[]; cwd: string; prep?: () => void }[] = [
  { name: 'node -e 0', cmd: process.execPath, argv: ['-e', '0'], cwd: app },
  { name: 'sluice --help', cmd: process.execPath, argv: [sluice, '--help'], cwd: app },
  { name: 'sluice runs', cmd: process.execPath, argv: [sluice, 'runs'], cwd: app },
  { name: 'sluice show <run>', cmd: process.execPath, argv: [sluice, 'show', runId], cwd: app },
  { name: 'sluice compile (quickstart), first: nothing cached', cmd: process.execPath, argv: [sluice, 'compile', 'quickstart/pipeline.ts', '-o', join(out, 'sluice-first.yaml')], cwd: app, prep: forget },
  { name: 'sluice compile (quickstart), repeated', cmd: process.execPath, argv: [sluice, 'compile', 'quickstart/pipeline.ts', '-o', join(out, 'sluice.yaml')], cwd: app },
  { name: `kfp dsl compile (same shape, kfp ${kfpVersion})`, cmd: kfp, argv: ['dsl', 'compile', '--py', join(repo, 'bench', 'peers', 'kfp_tabular.py'), '--output', join(out, 'kfp.yaml')], cwd: repo },
  { name: 'sluice --help, repository checkout (sources through tsx)', cmd: process.execPath, argv: [join(repo, 'packages', 'runner', 'bin', 'sluice.mjs'), '--help'], cwd: repo },
];
const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (const c of cases) {
  c.prep?.();
  must(c.cmd, c.argv, c.cwd); // warm the file cache once
}
for (let i = 0; i < reps; i++) {
  for (const c of cases) {
    c.prep?.();
    const r = run(c.cmd, c.argv, c.cwd);
    if (r.code !== 0) throw new Error(`${c.name} exited ${r.code}:\n${r.out.slice(-2000)}`);
    times.get(c.name)!.push(r.ms);
  }
}
// the first and the repeated compile write the same manifest
if (readFileSync(join(out, 'sluice-first.yaml'), 'utf8') !== readFileSync(join(out, 'sluice.yaml'), 'utf8')) throw new Error('the repeated compile wrote another manifest than the first');
const min = (xs: number[]) => Math.min(...xs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = min(times.get('node -e 0')!);
const kfpMin = min(times.get(cases.find((c) => c.name.startsWith('kfp'))!.name)!);
console.log(`Machine: Node ${process.version}, ${cpus()[0]?.model.trim()}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; ${new Date().toISOString().slice(0, 16)}Z; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${reps} repetitions.\n`);
console.log('| command | fastest ms | median ms | fastest / node -e 0 | fastest / kfp dsl compile |');
console.log('|---|---:|---:|---:|---:|');
for (const c of cases) {
  const xs = times.get(c.name)!;
  const isCompile = c.name.includes('compile');
  console.log(`| ${c.name} | ${min(xs).toFixed(0)} | ${median(xs).toFixed(0)} | ${(min(xs) / base).toFixed(1)} | ${isCompile ? (min(xs) / kfpMin).toFixed(2) : ''} |`);
}
