/**
 * Long training with checkpoints: a softmax regression trained epoch by epoch that saves a
 * checkpoint after every epoch. Killed and resumed (`sluice resume <run>`), retried after a crash,
 * or preempted on a cluster, it continues from the last saved epoch instead of starting over.
 *
 * The training task asks for a GPU. The default export keeps that request (a machine without a
 * GPU refuses to run it); the `cpu` export is the same pipeline without it, for machines without
 * one:
 *
 *   pnpm sluice run examples/checkpointed-training/pipeline.ts --export cpu
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { component, pipeline, Dataset, Metrics, Model, type JsonValue } from '@sluice/sdk';
import { accuracy, initModel, irisSplit, loss, trainEpoch, type Example, type TrainState } from './src/softmax.ts';

export const prepare = component({
  name: 'prepare-iris',
  description: 'Iris, shuffled with a seed and split into train and validation sets (JSON).',
  inputs: { valFraction: z.number().gt(0).lt(1), seed: z.number().int() },
  outputs: { train: Dataset, val: Dataset },
  async run({ valFraction, seed }, ctx) {
    const { train, val } = irisSplit(valFraction, seed);
    await ctx.outputs.train.writeJson(train);
    await ctx.outputs.val.writeJson(val);
  },
});

export const trainer = component({
  name: 'train-softmax',
  description: 'Mini-batch gradient descent, one checkpoint per epoch; resumes from the latest one.',
  inputs: {
    train: Dataset,
    val: Dataset,
    epochs: z.number().int().min(1),
    learningRate: z.number().positive(),
    batchSize: z.number().int().min(1),
    seed: z.number().int(),
    /** Pause after each epoch (to watch, or kill, a run that is otherwise over in a blink). */
    epochDelayMs: z.number().int().min(0),
    /** When set, one line per finished epoch is appended to this file. */
    progressFile: z.string(),
  },
  outputs: { model: Model, metrics: Metrics },
  async run({ train: trainSet, val: valSet, epochs, learningRate, batchSize, seed, epochDelayMs, progressFile }, ctx) {
    const train = await trainSet.readJson<Example[]>();
    const val = await valSet.readJson<Example[]>();
    const saved = await ctx.checkpoint.load<TrainState>();
    let state: TrainState = saved ?? { epoch: 0, model: initModel(train, 3), history: [] };
    const resumedFrom = state.epoch;
    if (saved) ctx.log.info('resuming from checkpoint', { epoch: saved.epoch });
    ctx.log.info('devices', { gpus: [...ctx.gpus] });
    let ran = 0;
    while (state.epoch < epochs) {
      if (ctx.signal.aborted) throw new Error(`stopped after epoch ${state.epoch}; the checkpoint holds it`);
      const epoch = state.epoch + 1;
      const model = trainEpoch(state.model, train, epoch, { learningRate, batchSize, seed });
      const entry = { epoch, loss: loss(model, train), trainAccuracy: accuracy(model, train), valAccuracy: accuracy(model, val) };
      state = { epoch, model, history: [...state.history, entry] };
      await ctx.checkpoint.save(state as unknown as JsonValue);
      ran++;
      if (progressFile) appendFileSync(progressFile, `epoch ${epoch} pid ${process.pid} attempt ${ctx.attempt}\n`);
      ctx.log.info('epoch', entry);
      if (epochDelayMs > 0) await sleep(epochDelayMs, undefined, { signal: ctx.signal }).catch(() => {});
    }
    await ctx.outputs.model.writeJson(state.model);
    const last = state.history[state.history.length - 1];
    const m = ctx.outputs.metrics;
    m.log('epochs', state.epoch);
    m.log('loss', last?.loss ?? loss(state.model, train));
    m.log('trainAccuracy', accuracy(state.model, train));
    m.log('valAccuracy', accuracy(state.model, val));
    m.log('resumedFromEpoch', resumedFrom);
    m.log('epochsRunThisAttempt', ran);
    m.log('gpus', ctx.gpus.length);
  },
});

/**
 * The pipeline, with or without the GPU request on the training task.
 *
 * @example
 * export const onCpu = checkpointedTraining({ allowCpu: true });
 */
export function checkpointedTraining(options: { allowCpu: boolean }) {
  return pipeline(
    {
      name: options.allowCpu ? 'checkpointed-training-cpu' : 'checkpointed-training',
      // Function steps run in a pod from an image holding this repository (see the README's Dockerfile).
      image: 'sluice-examples:0.1.0',
      description: 'Softmax regression on iris, a checkpoint per epoch, resumable.',
      params: {
        epochs: z.number().int().min(1).default(40),
        learningRate: z.number().positive().default(0.5),
        batchSize: z.number().int().min(1).default(16),
        seed: z.number().int().default(1),
        valFraction: z.number().gt(0).lt(1).default(0.3),
        epochDelayMs: z.number().int().min(0).default(0),
        progressFile: z.string().default(''),
      },
    },
    ({ valFraction, seed, ...hp }) => {
      const data = prepare({ valFraction, seed });
      const fit = trainer({ train: data.outputs.train, val: data.outputs.val, seed, ...hp })
        // A crash or a preemption is retried; the retry starts from the last checkpoint.
        .retry({ limit: 2, on: 'error' })
        .timeout('2h');
      if (!options.allowCpu) fit.resources({ gpu: 1 });
      return { model: fit.outputs.model, metrics: fit.outputs.metrics };
    },
  );
}

/** Asks for one GPU: on a machine without one the run is refused before anything starts. */
export default checkpointedTraining({ allowCpu: false });
/** The same training on CPU: the flag for machines without a GPU. */
export const cpu = checkpointedTraining({ allowCpu: true });
