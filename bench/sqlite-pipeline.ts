/**
 * The store benchmark's run (bench/store-sqlite.bench.ts): a loop of `items` trivial steps, 16 at a
 * time, then a fan-in. Each step logs two metric points; every tenth fails its first attempt and
 * is retried, so the run writes task rows, attempt rows, consumption edges, cache entries and
 * tracking events in the engine's group commits.
 */
import { z } from 'zod';
import { component, pipeline } from '@sluice/sdk';

const work = component({
  name: 'work',
  inputs: { i: z.number().int() },
  outputs: { y: z.number().int() },
  run({ i }, ctx) {
    ctx.log.metric('loss', 1 / (i + 1), { step: 0 });
    ctx.log.metric('loss', 1 / (i + 2), { step: 1 });
    if (i % 10 === 0 && ctx.attempt === 1) throw new Error(`item ${i}: first attempt fails`);
    return { y: i * 2 };
  },
});
const sum = component({ name: 'sum', inputs: { ys: z.array(z.number().int()) }, outputs: { total: z.number().int() }, run: ({ ys }) => ({ total: ys.reduce((a, b) => a + b, 0) }) });

export default pipeline({ name: 'store-bench', params: { items: z.array(z.number().int()) } }, ({ items }, p) => {
  const each = p.forEach(items, (i) => ({ w: work({ i }).retry({ limit: 1, backoff: { duration: '0s' } }) }), { name: 'many', parallelism: 16 });
  return { total: sum({ ys: each.collect((x) => x.w.outputs.y) }).outputs.total };
});
