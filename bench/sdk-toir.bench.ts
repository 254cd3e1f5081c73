/**
 * The SDK side of a fresh process's compile, through the public API: ten components defined, a
 * 10,000-task chain recorded by `pipeline()` (every task takes its predecessor's output) and
 * `toIR` (records to IR, the validator, freezing), with CPU and wall time per phase. Run:
 * `nice -n 10 pnpm tsx bench/sdk-toir.bench.ts [tasks] [runs]` (runs > 1 repeat the work in the
 * same process). For load-independent figures count instructions of a fresh process and subtract
 * one that stops after the imports (0 tasks); bundle it first (esbuild `--bundle --platform=node
 * --format=esm --keep-names`, as tsx compiles, without tsx's loader noise) and make V8 deterministic:
 * `valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null node --single-threaded --hash-seed=1 --random-seed=1 sdk-toir.mjs 10000`
 * less the same with `0`. Prints figures (bench/RESULTS.md, Compile, "SDK side"); never assertions.
 */
import { component, pipeline, toIR } from '@sluice/sdk';
import { z } from 'zod';

const n = Number(process.argv[2] ?? 10_000);
const runs = Number(process.argv[3] ?? 1);
const COMPONENTS = 10;
const IMAGE = 'ghcr.io/acme/pipelines:1.0';
const cpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

for (let r = 0; r < runs && n > 0; r++) {
  const c0 = cpu(), w0 = performance.now();
  const steps = Array.from({ length: COMPONENTS }, (_, c) => component({
    name: `step${c}`, inputs: { x: z.number().optional() }, outputs: { y: z.number() },
    async run({ x }) { return { y: (x ?? 0) + 1 }; },
  }));
  const c1 = cpu(), w1 = performance.now();
  const chain = pipeline({ name: 'chain', image: IMAGE }, () => {
    let prev = steps[0]!({ x: 1 });
    for (let i = 1; i < n; i++) prev = steps[i % COMPONENTS]!({ x: prev.outputs.y });
  });
  const ir = toIR(chain);
  const c2 = cpu(), w2 = performance.now();
  console.log(`run ${r + 1}: components ${(c1 - c0).toFixed(0)}/${(w1 - w0).toFixed(0)} ms, pipeline + toIR ${(c2 - c1).toFixed(0)}/${(w2 - w1).toFixed(0)} ms (CPU/wall); ${(((c2 - c0) * 1000) / n).toFixed(1)} us/task CPU, ${(((w2 - w0) * 1000) / n).toFixed(1)} wall; ${ir.dag.length} tasks`);
}
