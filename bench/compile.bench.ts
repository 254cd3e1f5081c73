/**
 * Compiler benchmark: `pnpm tsx bench/compile.bench.ts`. Chains and fan-outs of 100, 1,000 and
 * 10,000 tasks over ten components (data on every edge), plus ordering-only lanes. Writes the
 * `## Compile` section of bench/RESULTS.md. Figures, never assertions.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compile } from '../packages/compiler/src/index.ts';
import { bigPipeline, type Shape } from '../packages/compiler/test/helpers/big.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const requireFromCompiler = createRequire(path.join(here, '../packages/compiler/package.json'));
const { stringify: yamlStringify } = (await import(pathToFileURL(requireFromCompiler.resolve('yaml')).href)) as { stringify: (v: unknown) => string };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => void, reps: number): number {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

interface Row { shape: Shape; n: number; ms: number; usPerTask: number; bytesPerTask: number; jsonKiB: number; rssMiB: number; heapMiB: number; vsJson: number; vsYaml: number }

const rows: Row[] = [];
for (const shape of ['chain', 'fanout', 'lanes'] as const) {
  for (const n of [100, 1_000, 10_000]) {
    const ir = bigPipeline(shape, n);
    const reps = n >= 10_000 ? 5 : n >= 1_000 ? 15 : 60;
    compile(ir, { entry: 'p.ts' }); // warm up
    (globalThis as { gc?: () => void }).gc?.();
    const rss0 = process.memoryUsage().rss;
    const heap0 = process.memoryUsage().heapUsed;
    let peakRss = rss0;
    let peakHeap = heap0;
    let result = compile(ir, { entry: 'p.ts' });
    const ms = time(() => {
      result = compile(ir, { entry: 'p.ts' });
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    }, reps);
    const jsonMs = time(() => JSON.stringify(result.objects), reps);
    const yamlMs = time(() => yamlStringify(result.objects[0]), Math.min(reps, 5));
    rows.push({
      shape, n, ms, usPerTask: (ms * 1000) / n, bytesPerTask: Buffer.byteLength(result.yaml) / n,
      jsonKiB: Buffer.byteLength(JSON.stringify(result.objects[0])) / 1024,
      rssMiB: (peakRss - rss0) / 2 ** 20, heapMiB: (peakHeap - heap0) / 2 ** 20, vsJson: ms / jsonMs, vsYaml: ms / yamlMs,
    });
    const r = rows.at(-1)!;
    console.log(`${shape.padEnd(6)} ${String(n).padStart(6)}: ${r.ms.toFixed(1)} ms, ${r.usPerTask.toFixed(1)} us/task, ${r.bytesPerTask.toFixed(0)} B/task, x${r.vsJson.toFixed(1)} JSON.stringify, x${r.vsYaml.toFixed(2)} yaml.stringify`);
  }
}

const f = (x: number, d = 1) => x.toFixed(d);
const growth = (shape: Shape) => {
  const a = rows.find((r) => r.shape === shape && r.n === 1_000)!;
  const b = rows.find((r) => r.shape === shape && r.n === 10_000)!;
  return b.ms / a.ms;
};
const section = [
  '## Compile',
  '',
  `Machine: Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores; ${new Date().toISOString().slice(0, 10)}. Run: \`pnpm tsx bench/compile.bench.ts\`.`,
  '',
  'Ten distinct function components. `chain`: every task takes its predecessor\'s output; `fanout`: every task takes the first task\'s output; `lanes`: ten-stage lanes ordered by `after` (the size-test shape). Time is the median of whole `compile()` calls (SDK validation, lowering, chunking, rendering, YAML). Memory: peak growth over the run (RSS / heapUsed). Baselines serialise the final objects in the same run.',
  '',
  '| shape | tasks | ms | us/task | YAML B/task | JSON KiB | peak RSS +MiB | peak heap +MiB | / JSON.stringify | / yaml.stringify |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.shape} | ${r.n} | ${f(r.ms)} | ${f(r.usPerTask)} | ${f(r.bytesPerTask, 0)} | ${f(r.jsonKiB, 0)} | ${f(r.rssMiB)} | ${f(r.heapMiB)} | ${f(r.vsJson)} | ${f(r.vsYaml, 2)} |`),
  '',
  `Growth of compile time from 1,000 to 10,000 tasks (x10 tasks): chain x${f(growth('chain'))}, fanout x${f(growth('fanout'))}, lanes x${f(growth('lanes'))}.`,
  '',
  'Note: times include the SDK validator (`validatePipelineIR`), the largest single cost at 10,000 tasks. Should it overflow the stack on a long chain (graphlib\'s recursive search), `compile` re-runs it in a child process with a larger stack, which adds a few hundred ms.',
  '',
].join('\n');

const file = path.join(here, 'RESULTS.md');
let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\n';
const start = text.indexOf('## Compile');
if (start >= 0) {
  const next = text.indexOf('\n## ', start + 1);
  text = text.slice(0, start) + section + (next >= 0 ? text.slice(next + 1) : '');
} else text = `${text.trimEnd()}\n\n${section}`;
writeFileSync(file, text);
console.log(`wrote the Compile section of ${file}`);
