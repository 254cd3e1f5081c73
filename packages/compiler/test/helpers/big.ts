/** Large generated pipelines for the size test and the benchmark. */
import type { ComponentIR, NodeIR, PipelineIR } from '@sluice/sdk';
import { fn, lit, out, p, pipe, task } from './ir.ts';

/**
 * - `chain`: t0 -> t1 -> ... , every task takes its predecessor's output (data on every edge).
 * - `fanout`: t0, then every other task takes t0's output.
 * - `lanes`: parallel lanes of ten stages (one per component); the first stage of a lane takes a
 *   literal, later stages wait for the previous one (ordering only, as in a batch of jobs).
 * - `grid`: a square grid (n rounded down to a square); every task takes the outputs of its
 *   neighbours above and to the left (data on every edge, wide diagonal levels).
 */
export type Shape = 'chain' | 'fanout' | 'lanes' | 'grid';

export function bigPipeline(shape: Shape, n: number, components = 10): PipelineIR {
  const comps: Record<string, ComponentIR> = {};
  for (let c = 0; c < components; c++) comps[`c${c}`] = fn(`step${c}`, { x: p('number', { optional: true }), ...(shape === 'grid' ? { z: p('number', { optional: true }) } : {}) }, { y: p('number') });
  const dag: NodeIR[] = [];
  if (shape === 'grid') {
    const side = Math.floor(Math.sqrt(n));
    for (let i = 0; i < side * side; i++) {
      const r = Math.floor(i / side);
      const c = i % side;
      const inputs = { ...(r > 0 ? { x: out(`t${i - side}`, 'y') } : {}), ...(c > 0 ? { z: out(`t${i - 1}`, 'y') } : {}) };
      dag.push(task(`t${i}`, `c${i % components}`, i === 0 ? { x: lit(1) } : inputs));
    }
    return pipe(`big-${shape}`, comps, dag);
  }
  for (let i = 0; i < n; i++) {
    const id = `t${i}`;
    if (shape === 'lanes') {
      const stage = i % components;
      dag.push(stage === 0 ? task(id, `c${stage}`, { x: lit(i) }) : task(id, `c${stage}`, {}, { after: [`t${i - 1}`] }));
    } else if (i === 0) dag.push(task(id, 'c0', { x: lit(1) }));
    else dag.push(task(id, `c${i % components}`, { x: out(shape === 'chain' ? `t${i - 1}` : 't0', 'y') }));
  }
  return pipe(`big-${shape}`, comps, dag);
}
