/**
 * Compiler benchmark: `pnpm tsx bench/compile.bench.ts`. Chains and fan-outs of 100, 1,000 and
 * 10,000 tasks over ten components (data on every edge), plus ordering-only lanes. Writes the
 * `## Compile` section of bench/RESULTS.md. Figures, never assertions.
 */
import { spawnSync } from 'node:child_process';
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

function time(fn: () => void, reps: number): number {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  return Math.min(...ts);
}

interface Row { shape: Shape; n: number; ms: number; usPerTask: number; bytesPerTask: number; jsonKiB: number; docs: number; rssMiB: number; heapMiB: number; vsJson: number; vsYaml: number }

/** Measures one case. Each case runs in a fresh process, so earlier cases' heap and JIT state do not skew it. */
function measure(shape: Shape, n: number): Row {
  const ir = bigPipeline(shape, n);
  const reps = n >= 10_000 ? 9 : n >= 1_000 ? 25 : 80;
  compile(ir, { entry: 'p.ts' }); // warm up
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
  const yamlMs = time(() => { for (const o of result.objects) yamlStringify(o); }, Math.min(reps, 5));
  return {
    shape, n, ms, usPerTask: (ms * 1000) / n, bytesPerTask: Buffer.byteLength(result.yaml) / n,
    jsonKiB: Buffer.byteLength(JSON.stringify(result.objects)) / 1024, docs: result.objects.length,
    rssMiB: (peakRss - rss0) / 2 ** 20, heapMiB: (peakHeap - heap0) / 2 ** 20, vsJson: ms / jsonMs, vsYaml: ms / yamlMs,
  };
}

const one = process.argv.indexOf('--case');
if (one > 0) {
  const [shape, n] = process.argv[one + 1]!.split(':') as [Shape, string];
  process.stdout.write(JSON.stringify(measure(shape, Number(n))));
  process.exit(0);
}

function runCase(shape: Shape, n: number, nodeFlags: readonly string[] = []): Row {
  const child = spawnSync(process.execPath, [...nodeFlags, ...process.execArgv, fileURLToPath(import.meta.url), '--case', `${shape}:${n}`], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (child.status !== 0) throw new Error(`case ${shape}:${n} failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as Row;
}

const rows: Row[] = [];
/** The same 1,000 and 10,000 cases with a 128 MiB young generation: separates V8's GC from the compiler's own growth. */
const bigYoung: Row[] = [];
for (const shape of ['chain', 'fanout', 'lanes'] as const) {
  for (const n of [1_000, 10_000]) bigYoung.push(runCase(shape, n, ['--max-semi-space-size=128']));
  for (const n of [100, 1_000, 10_000]) {
    const r = runCase(shape, n);
    rows.push(r);
    console.log(`${shape.padEnd(6)} ${String(n).padStart(6)}: ${r.ms.toFixed(1)} ms, ${r.usPerTask.toFixed(1)} us/task, ${r.bytesPerTask.toFixed(0)} B/task, x${r.vsJson.toFixed(1)} JSON.stringify, x${r.vsYaml.toFixed(2)} yaml.stringify`);
  }
}

const f = (x: number, d = 1) => x.toFixed(d);
const growth = (shape: Shape, from: readonly Row[] = rows) => {
  const a = from.find((r) => r.shape === shape && r.n === 1_000)!;
  const b = from.find((r) => r.shape === shape && r.n === 10_000)!;
  return b.ms / a.ms;
};
const section = [
  '## Compile',
  '',
  `Machine: Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores; ${new Date().toISOString().slice(0, 10)}. Run: \`pnpm tsx bench/compile.bench.ts\`.`,
  '',
  'Hand-built IR (no SDK builder: see the public-API comparison below for what a user waits for). Ten distinct function components. `chain`: every task takes its predecessor\'s output; `fanout`: every task takes the first task\'s output; `lanes`: ten-stage lanes ordered by `after`. Time is the fastest of repeated whole `compile()` calls (SDK validation of the unmarked IR, lowering, chunking, rendering, splitting by size, YAML). Each case runs in a fresh process. Memory: peak growth over the case (RSS / heapUsed). Baselines serialise the final objects in the same process.',
  '',
  '| shape | tasks | ms | us/task | YAML B/task | JSON KiB (all documents) | documents | peak RSS +MiB | peak heap +MiB | / JSON.stringify | / yaml.stringify |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.shape} | ${r.n} | ${f(r.ms)} | ${f(r.usPerTask)} | ${f(r.bytesPerTask, 0)} | ${f(r.jsonKiB, 0)} | ${r.docs} | ${f(r.rssMiB)} | ${f(r.heapMiB)} | ${f(r.vsJson)} | ${f(r.vsYaml, 2)} |`),
  '',
  `Growth of compile time from 1,000 to 10,000 tasks (x10 tasks): chain x${f(growth('chain'))}, fanout x${f(growth('fanout'))}, lanes x${f(growth('lanes'))}.`,
  '',
  `The same with a 128 MiB young generation (\`node --max-semi-space-size=128\`): chain x${f(growth('chain', bigYoung))}, fanout x${f(growth('fanout', bigYoung))}, lanes x${f(growth('lanes', bigYoung))}; us/task at 10,000: ${bigYoung.filter((r) => r.n === 10_000).map((r) => `${r.shape} ${f(r.usPerTask)}`).join(', ')}. The compiler's own work grows linearly; what goes beyond x10 with Node's default 16 MiB young generation is V8's garbage collector promoting the larger live set of a 10,000-task compile.`,
  '',
  'Note: times include the SDK validator (`validatePipelineIR`, iterative). Times are the fastest of the repetitions: on a shared 2-core machine the median moves by tens of percent with other load, the minimum much less.',
  '',
].join('\n');

const file = path.join(here, 'RESULTS.md');
let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\n';
const start = text.indexOf('## Compile');
if (start >= 0) {
  // Up to the next section, or to the public-API comparison that bench/compile-api.bench.ts writes.
  const ends = [text.indexOf('\n## ', start + 1), text.indexOf('\n### Through the public API', start)].filter((i) => i >= 0);
  const end = ends.length ? Math.min(...ends) + 1 : text.length;
  text = text.slice(0, start) + section + (end < text.length ? `\n${text.slice(end)}` : '');
} else text = `${text.trimEnd()}\n\n${section}`;
writeFileSync(file, text);
console.log(`wrote the Compile section of ${file}`);
