/** The web view benchmark's pipeline: one loop of `n` trivial steps (10,000 tasks), then a fan-in. */
import { z } from 'zod';
import { component, pipeline } from '@sluice/sdk';

const work = component({ name: 'work', inputs: { i: z.number().int() }, outputs: { y: z.number().int() }, run: ({ i }) => ({ y: i * 2 }) });
const sum = component({ name: 'sum', inputs: { ys: z.array(z.number().int()) }, outputs: { total: z.number().int() }, run: ({ ys }) => ({ total: ys.reduce((a, b) => a + b, 0) }) });

export default pipeline({ name: 'ui-bench', params: { items: z.array(z.number().int()) } }, ({ items }, p) => {
  const each = p.forEach(items, (i) => ({ w: work({ i }) }), { name: 'many', parallelism: 16 });
  return { total: sum({ ys: each.collect((x) => x.w.outputs.y) }).outputs.total };
});
