/**
 * The 10,000-task chain of compile-api.bench.ts built and compiled through the public API several
 * times in one process, with CPU and wall time per phase of each run: shows how far a fresh
 * process is from a warm one (V8 tiering up). Run: `pnpm tsx bench/compile-repeat.bench.ts
 * [tasks] [runs]`; try `node --no-opt --import tsx ...` to see what TurboFan costs a fresh run.
 * Prints figures (bench/RESULTS.md, Compile, session s2); never assertions.
 */
import { component, pipeline, toIR } from '@sluice/sdk';
import { compile } from '@sluice/compiler';
import { z } from 'zod';

const n = Number(process.argv[2] ?? 10_000);
const runs = Number(process.argv[3] ?? 6);
const COMPONENTS = 10;
const IMAGE = 'ghcr.io/acme/pipelines:1.0';
const cpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

for (let r = 0; r < runs; r++) {
  const phases: [string, number, number][] = [];
  let c0 = cpu();
  let w0 = performance.now();
  const mark = (name: string): void => { const c = cpu(), w = performance.now(); phases.push([name, c - c0, w - w0]); c0 = c; w0 = w; };
  const steps = Array.from({ length: COMPONENTS }, (_, c) => component({
    name: `step${c}`, inputs: { x: z.number().optional() }, outputs: { y: z.number() },
    async run({ x }) { return { y: (x ?? 0) + 1 }; },
  }));
  mark('components');
  const chain = pipeline({ name: 'chain', image: IMAGE }, () => {
    let prev = steps[0]!({ x: 1 });
    for (let i = 1; i < n; i++) prev = steps[i % COMPONENTS]!({ x: prev.outputs.y });
  });
  const ir = toIR(chain);
  mark('toIR');
  const res = compile(ir, { entry: 'pipelines/chain.ts' });
  mark('compile');
  const totalCpu = phases.reduce((a, x) => a + x[1], 0);
  const totalWall = phases.reduce((a, x) => a + x[2], 0);
  console.log(`run ${r + 1}: ${phases.map(([k, c, w]) => `${k} ${c.toFixed(0)}/${w.toFixed(0)} ms`).join(', ')} (CPU/wall); total ${((totalCpu * 1000) / n).toFixed(1)} us/task CPU, ${((totalWall * 1000) / n).toFixed(1)} wall; ${res.yaml.length} bytes of YAML`);
}
