// Pipelines for the GPU fallback tests: a step asking for GPUs, with and without `localFallback: 'cpu'`.
import { z } from 'zod';
import { component, pipeline } from '@sluice/sdk';

/** Reports the devices it was given: `ctx.gpus` and CUDA_VISIBLE_DEVICES. */
const train = component({
  name: 'train',
  inputs: {},
  outputs: { devices: z.string() },
  run: async (_i, ctx) => ({ devices: `gpus=[${ctx.gpus.join(',')}] cuda=${process.env.CUDA_VISIBLE_DEVICES ?? 'unset'}` }),
});

const build = (name: string, gpu: { count: number; type?: string; localFallback?: 'cpu' }) =>
  pipeline({ name, params: {} }, () => {
    const t = train({}).resources({ gpu });
    return { devices: t.outputs.devices };
  });

/** One GPU, or CPU in a local run where there is none. */
export const fallback = build('fallback', { count: 1, localFallback: 'cpu' });
/** Two GPUs, or CPU. */
export const fallbackTwo = build('fallback-two', { count: 2, localFallback: 'cpu' });
/** One A100, or CPU. */
export const fallbackType = build('fallback-type', { count: 1, type: 'NVIDIA-A100-SXM4-80GB', localFallback: 'cpu' });
/** One GPU, no fallback. */
export const strict = build('strict', { count: 1 });
/** A fallback that does not exist (exported as a function: the SDK may refuse it when built). */
export const badFallback = () => build('bad-fallback', { count: 1, localFallback: 'tpu' as 'cpu' });
