/** Large generated pipelines for the size test and the benchmark. */
import type { ComponentIR, NodeIR, PipelineIR } from '@sluice/sdk';
import { fn, lit, out, p, pipe, task } from './ir.ts';

/**
 * - `chain`: t0 -> t1 -> ... , every task takes its predecessor's output (data on every edge).
 * - `fanout`: t0, then every other task takes t0's output.
 * - `lanes`: parallel lanes of ten stages (one per component); the first stage of a lane takes a
 *   literal, later stages wait for the previous one (ordering only, as in a batch of jobs).
 */
export type Shape = 'chain' | 'fanout' | 'lanes';

export function bigPipeline(shape: Shape, n: number, components = 10): PipelineIR {
  const comps: Record<string, ComponentIR> = {};
  for (let c = 0; c < components; c++) comps[`c${c}`] = fn(`step${c}`, { x: p('number', { optional: true }) }, { y: p('number') });
  const dag: NodeIR[] = [];
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
