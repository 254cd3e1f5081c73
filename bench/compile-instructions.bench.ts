/**
 * Instructions a fresh process spends in `compile()` of the 10,000-task chain of
 * compile-api.bench.ts, counted by `valgrind --tool=cachegrind --cache-sim=no` (load-independent,
 * unlike times on a shared machine): a fresh node process that builds the chain through the
 * public API, runs `toIR` and then `compile` (YAML included), less the same process stopping
 * after `toIR`. The processes run this file bundled by esbuild (with `keepNames`, as tsx compiles
 * it), so that tsx's loader adds neither instructions nor noise; the YAML then differs from
 * compile-api.bench.ts's only in the components' `run` sources (their hashes). Also prints the
 * size and a hash of the YAML and source map, to check that a change keeps the output
 * byte-identical. Needs valgrind; about half a minute per process.
 *
 * Run: `pnpm tsx bench/compile-instructions.bench.ts [--tasks N] [--reps N] [--node-flags "--single-threaded"]`.
 * Prints figures (bench/RESULTS.md, Compile, session s3); never assertions.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const COMPONENTS = 10;
const IMAGE = 'ghcr.io/acme/pipelines:1.0';

const caseArg = process.argv.indexOf('--case');
if (caseArg > 0) {
  const [mode, tasks] = process.argv[caseArg + 1]!.split(':') as ['ir' | 'compile', string];
  const n = Number(tasks);
  const { component, pipeline, toIR } = await import('@sluice/sdk');
  const { compile } = await import('@sluice/compiler');
  const { z } = await import('zod');
  const steps = Array.from({ length: COMPONENTS }, (_, c) => component({
    name: `step${c}`, inputs: { x: z.number().optional() }, outputs: { y: z.number() },
    async run({ x }) { return { y: (x ?? 0) + 1 }; },
  }));
  const chain = pipeline({ name: 'chain', image: IMAGE }, () => {
    let prev = steps[0]!({ x: 1 });
    for (let i = 1; i < n; i++) prev = steps[i % COMPONENTS]!({ x: prev.outputs.y });
  });
  const ir = toIR(chain);
  if (mode === 'compile') {
    const r = compile(ir, { entry: 'pipelines/chain.ts' });
    const hash = createHash('sha256').update(r.yaml).update(JSON.stringify(r.sourceMap)).digest('hex').slice(0, 16);
    process.stdout.write(JSON.stringify({ yamlBytes: Buffer.byteLength(r.yaml), hash }));
  }
  process.exit(0);
}

const arg = (name: string, d: string): string => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1]! : d; };
const n = Number(arg('--tasks', '10000'));
const reps = Number(arg('--reps', '1'));
const nodeFlags = arg('--node-flags', '').split(' ').filter(Boolean);
const here = path.dirname(fileURLToPath(import.meta.url));

// esbuild as tsx uses it (the same version and transform).
const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'))('esbuild') as { buildSync(options: Record<string, unknown>): unknown };
const dir = mkdtempSync(path.join(os.tmpdir(), 'compile-instructions-'));
const bundle = path.join(dir, 'case.mjs');
esbuild.buildSync({ entryPoints: [fileURLToPath(import.meta.url)], bundle: true, platform: 'node', format: 'esm', keepNames: true, outfile: bundle, logLevel: 'warning' });
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function count(mode: 'ir' | 'compile'): { refs: number; out: string } {
  const child = spawnSync('valgrind', ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null', process.execPath, ...nodeFlags, bundle, '--case', `${mode}:${n}`], { cwd: here, encoding: 'utf8', maxBuffer: 1 << 26 });
  const m = /I\s+refs:\s+([\d,]+)/.exec(child.stderr);
  if (child.status !== 0 || !m) throw new Error(`valgrind ${mode} failed: ${child.stderr.slice(-2000)}`);
  return { refs: Number(m[1]!.replaceAll(',', '')), out: child.stdout };
}

const M = (x: number): string => `${(x / 1e6).toFixed(0)} M`;
for (let r = 0; r < reps; r++) {
  const full = count('compile');
  const base = count('ir');
  console.log(`compile ${M(full.refs - base.refs)} instructions (process ${M(full.refs)}, until toIR ${M(base.refs)}) ${full.out}${nodeFlags.length ? ` node ${nodeFlags.join(' ')}` : ''}`);
}
