/**
 * Batch inference: generate a batch of flowers from a seed, fit a scorer, score the batch in
 * partitions (`forEach` over a planned list, two at a time), and merge the partitions' prediction
 * artifacts (collected over the loop, in partition order) into one predictions file. Re-running
 * with the same parameters is served from the cache.
 *
 *   pnpm sluice run examples/batch-inference/pipeline.ts --param rows=20000
 */
import { z } from 'zod';
import { component, listOf, pipeline, Dataset, Metrics, Model } from '@sluice/sdk';
import { PREDICTION_HEADER, generateBatch, mergePredictions, planPartitions, readBatch } from './src/batch.ts';
import { score, trainScorer, type SavedScorer } from './src/model.ts';

export const makeBatch = component({
  name: 'make-batch',
  description: 'The input batch: `rows` synthetic flowers drawn from a seed (same seed, same bytes).',
  inputs: { rows: z.number().int().min(1), seed: z.number().int() },
  outputs: { batch: Dataset },
  async run({ rows, seed }, ctx) {
    await ctx.outputs.batch.write(generateBatch(rows, seed));
    ctx.outputs.batch.metadata['rows'] = rows;
  },
});

export const fitScorer = component({
  name: 'fit-scorer',
  description: 'A logistic regression fitted on the 150 iris flowers.',
  outputs: { model: Model },
  async run(_, ctx) {
    await ctx.outputs.model.writeJson(trainScorer());
  },
});

const Range = z.object({ index: z.number().int(), start: z.number().int(), end: z.number().int() });

export const planBatch = component({
  name: 'plan-partitions',
  description: 'Row ranges of nearly equal size, one per partition.',
  inputs: { batch: Dataset, partitions: z.number().int().min(1).max(64) },
  outputs: { ranges: z.array(Range), rows: z.number().int() },
  async run({ batch, partitions }) {
    const rows = readBatch(await batch.readText()).length;
    return { ranges: planPartitions(rows, partitions), rows };
  },
});

export const scorePartition = component({
  name: 'score-partition',
  description: 'Predicts the species of the rows [start, end) of the batch.',
  inputs: { batch: Dataset, model: Model, index: z.number().int().min(0), start: z.number().int().min(0), end: z.number().int().min(0) },
  outputs: { predictions: Dataset, rows: z.number().int() },
  async run({ batch, model, index, start, end }, ctx) {
    const rows = readBatch(await batch.readText(), start, end);
    const scored = score(await model.readJson<SavedScorer>(), rows.map((r) => r.features));
    const lines = rows.map((r, i) => `${r.id},${scored[i]!.predicted},${scored[i]!.confidence.toFixed(4)},${r.label}`);
    await ctx.outputs.predictions.write(`${[PREDICTION_HEADER, ...lines].join('\n')}\n`);
    ctx.outputs.predictions.metadata['partition'] = index;
    ctx.outputs.predictions.metadata['rows'] = rows.length;
    return { rows: rows.length };
  },
});

export const mergeParts = component({
  name: 'merge-predictions',
  description: 'One predictions CSV from the partitions, in row order, and summary metrics.',
  inputs: { parts: listOf(Dataset) },
  outputs: { predictions: Dataset, metrics: Metrics, rows: z.number().int() },
  async run({ parts }, ctx) {
    // Collected in item order, which is partition order: mergePredictions checks the row ids.
    const texts = await Promise.all(parts.map((p) => p.readText()));
    const { csv, rows } = mergePredictions(texts);
    await ctx.outputs.predictions.write(csv);
    ctx.outputs.predictions.metadata['rows'] = rows;
    const lines = csv.trimEnd().split('\n').slice(1).map((l) => l.split(','));
    ctx.outputs.metrics.log('rows', rows);
    ctx.outputs.metrics.log('partitions', parts.length);
    ctx.outputs.metrics.log('agreement', lines.filter((c) => c[1] === c[3]).length / Math.max(1, rows));
    ctx.outputs.metrics.log('meanConfidence', lines.reduce((s, c) => s + Number(c[2]), 0) / Math.max(1, rows));
    return { rows };
  },
});

export default pipeline(
  {
    name: 'batch-inference',
    // Function steps run in a pod from an image holding this repository (see the README's Dockerfile).
    image: 'sluice-examples:0.1.0',
    description: 'Score a batch in partitions with forEach + parallelism and merge the results.',
    params: {
      rows: z.number().int().min(1).default(20_000),
      seed: z.number().int().default(1),
      partitions: z.number().int().min(1).max(64).default(8),
    },
  },
  ({ rows, seed, partitions }, p) => {
    const batch = makeBatch({ rows, seed }).outputs.batch;
    const model = fitScorer({}).outputs.model;
    const plan = planBatch({ batch, partitions });
    const scored = p.forEach(plan.outputs.ranges, (range) =>
      scorePartition({ batch, model, index: range.get('index'), start: range.get('start'), end: range.get('end') }),
    { parallelism: 2, name: 'partitions' });
    const merged = mergeParts({ parts: scored.collect((t) => t.outputs.predictions) });
    return { predictions: merged.outputs.predictions, metrics: merged.outputs.metrics, rows: merged.outputs.rows };
  },
);
