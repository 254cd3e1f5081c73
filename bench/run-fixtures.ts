// No-op pipelines for the run benchmark, built as `{ ir, runtimes }` so that child processes
// (`sluice exec --export ...`) and the benchmark see the same IR.
import { fn, lit, out, pipeline, task } from '../packages/runner/test/helpers.ts';
import type { LoopIR } from '../packages/sdk/src/index.ts';

const noop = fn('noop', { inputs: { x: 'number' }, outputs: { x: 'number' } }, async (i) => ({ x: (i.x as number) + 1 }));

export function chain(n: number, name = `chain-${n}`) {
  return pipeline(name, [noop], Array.from({ length: n }, (_, i) => task(`t${i}`, noop, { x: i === 0 ? lit(0) : out(`t${i - 1}`, 'x') })));
}

export function fanout(n: number, name = `fanout-${n}`) {
  const loop: LoopIR = { kind: 'loop', id: 'fan', items: lit(Array.from({ length: n }, (_, i) => i)), after: [], body: [task('t', noop, { x: { kind: 'item', loop: 'fan', path: [] } })] };
  return pipeline(name, [noop], [loop]);
}

export const chain100 = chain(100);
export const fanout100 = fanout(100);
export const fanout1000 = fanout(1000);
export const chain10000 = chain(10000, 'resume-10000');
