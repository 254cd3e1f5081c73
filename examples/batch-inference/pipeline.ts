/**
 * Batch inference: generate a batch of flowers from a seed, fit a scorer, score the batch in
 * partitions (`forEach` over a planned list, two at a time), and merge the partitions into one
 * predictions file. Partitions hand their files over through `outputDir` (a shared volume on a
 * cluster) and report them as parameters: Argo collects parameters over a loop, not artifacts. Re-running with the same parameters is served from the cache.
 *
 *   pnpm sluice run examples/batch-inference/pipeline.ts --param rows=20000
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { component, pipeline, Dataset, Metrics, Model, NonRetryableError } from '@sluice/sdk';
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

/** What a partition reports: parameters, which Argo can collect over a loop (artifacts it cannot). */
export const Part = z.object({ index: z.number().int(), rows: z.number().int(), file: z.string(), sha256: z.string() });

/**
 * Partition outputs go to `outputDir`, shared by the scoring and merging steps: a directory here,
 * a volume on a cluster. Files are named by their content hash, so runs never clash and a cached
 * partition's file is still the right one.
 */
const partsVolume = { kind: 'pvc', name: 'batch-parts', claim: 'sluice-batch-parts', mountPath: '/mnt/batch-parts', readOnly: false } as const;

export const scorePartition = component({
  name: 'score-partition',
  description: 'Predicts the species of the rows [start, end) of the batch.',
  inputs: { batch: Dataset, model: Model, index: z.number().int().min(0), start: z.number().int().min(0), end: z.number().int().min(0), outputDir: z.string() },
  outputs: { part: Part },
  async run({ batch, model, index, start, end, outputDir }) {
    const rows = readBatch(await batch.readText(), start, end);
    const scored = score(await model.readJson<SavedScorer>(), rows.map((r) => r.features));
    const lines = rows.map((r, i) => `${r.id},${scored[i]!.predicted},${scored[i]!.confidence.toFixed(4)},${r.label}`);
    const text = `${[PREDICTION_HEADER, ...lines].join('\n')}\n`;
    const sha256 = createHash('sha256').update(text).digest('hex');
    const file = join(resolve(outputDir), `part-${sha256.slice(0, 32)}.csv`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
    return { part: { index, rows: rows.length, file, sha256 } };
  },
});

export const mergeParts = component({
  name: 'merge-predictions',
  description: 'One predictions CSV from the partitions, in row order, and summary metrics.',
  inputs: { parts: z.array(Part) },
  outputs: { predictions: Dataset, metrics: Metrics, rows: z.number().int() },
  async run({ parts }, ctx) {
    const texts = await Promise.all([...parts].sort((a, b) => a.index - b.index).map(async (p) => {
      const text = await readFile(p.file, 'utf8').catch(() => {
        throw new NonRetryableError(`partition ${p.index}: ${p.file} is gone; run again with --no-cache to score it again`);
      });
      if (createHash('sha256').update(text).digest('hex') !== p.sha256) throw new NonRetryableError(`partition ${p.index}: ${p.file} changed since it was scored`);
      return text;
    }));
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
      /** Where partitions leave their predictions for the merge (on a cluster: the volume's mount path). */
      outputDir: z.string().default('.sluice/batch-parts'),
    },
  },
  ({ rows, seed, partitions, outputDir }, p) => {
    const batch = makeBatch({ rows, seed }).outputs.batch;
    const model = fitScorer({}).outputs.model;
    const plan = planBatch({ batch, partitions });
    const scored = p.forEach(plan.outputs.ranges, (range) =>
      scorePartition({ batch, model, index: range.get('index'), start: range.get('start'), end: range.get('end'), outputDir }).volume(partsVolume),
    { parallelism: 2, name: 'partitions' });
    const merged = mergeParts({ parts: scored.collect((t) => t.outputs.part) }).volume(partsVolume);
    return { predictions: merged.outputs.predictions, metrics: merged.outputs.metrics, rows: merged.outputs.rows };
  },
);
