/**
 * Tabular training on iris: validate the CSV (bad rows fail the run), split, train two model
 * kinds over a hyperparameter sweep, evaluate each, collect every model and its metrics, pick the
 * best (copying its artifacts), register it as a version of the model `iris` and move the
 * `champion` alias to it only when the promotion gate passes: it must reach `minAccuracy`, beat the
 * current champion on the same held-out rows, and not have been evaluated on its training data.
 * Every decision and its reasons are recorded (`sluice models show iris`).
 *
 *   pnpm sluice run examples/tabular-training/pipeline.ts
 *   pnpm sluice compile examples/tabular-training/pipeline.ts
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { artifactType, component, listOf, pipeline, Dataset, Metrics, Model, NonRetryableError } from '@sluice/sdk';
import { SPECIES, formatRowIssues, resolveDataPath, split, toCsv, validateCsv } from './src/data.ts';
import { evaluate } from './src/metrics.ts';
import { TrainConfig, describeConfig, predict, train, type SavedModel } from './src/models.ts';
import { promote } from '@sluice/tracking';

/** The sweep: two model kinds, two settings each. */
export const SWEEP: TrainConfig[] = [
  { kind: 'random-forest', nEstimators: 10, maxDepth: 2, seed: 7 },
  { kind: 'random-forest', nEstimators: 40, maxDepth: 5, seed: 7 },
  { kind: 'logistic-regression', learningRate: 0.005, steps: 300 },
  { kind: 'logistic-regression', learningRate: 0.05, steps: 1500 },
];

async function readRows(path: string) {
  const v = validateCsv(await readFile(path, 'utf8'));
  if (!v.ok) throw new NonRetryableError(`data set ${path} failed validation:\n${formatRowIssues(v.issues)}`);
  return v.rows;
}

export const validateData = component({
  name: 'validate-data',
  description: 'Reads the CSV, checks its schema and every value; any bad row fails the run.',
  inputs: { source: z.string() },
  outputs: { data: Dataset, rows: z.number().int() },
  async run({ source }, ctx) {
    const path = resolveDataPath(source);
    const rows = await readRows(path);
    await ctx.outputs.data.write(toCsv(rows));
    ctx.outputs.data.metadata['rows'] = rows.length;
    ctx.log.info('validated', { source: path, rows: rows.length });
    return { rows: rows.length };
  },
});

export const splitData = component({
  name: 'split-data',
  description: 'Stratified, seeded train/test split.',
  inputs: { data: Dataset, testFraction: z.number().gt(0).lt(1), seed: z.number().int() },
  outputs: { train: Dataset, test: Dataset },
  async run({ data, testFraction, seed }, ctx) {
    const { train: tr, test } = split(await readRows(data.path), testFraction, seed);
    await ctx.outputs.train.write(toCsv(tr));
    await ctx.outputs.test.write(toCsv(test));
    ctx.outputs.train.metadata['rows'] = tr.length;
    ctx.outputs.test.metadata['rows'] = test.length;
  },
});

export const trainModel = component({
  name: 'train-model',
  description: 'Trains a random forest or a logistic regression.',
  inputs: { train: Dataset, config: TrainConfig },
  outputs: { model: Model },
  async run({ train: data, config }, ctx) {
    const model = train(config, await readRows(data.path));
    for (const [k, v] of Object.entries(config)) ctx.log.param(k, v);
    await ctx.outputs.model.writeJson(model);
    ctx.outputs.model.metadata['name'] = describeConfig(config);
  },
});

/** What each sweep point reports besides its artifacts: a small summary, collected as a pipeline output. */
export const Summary = z.object({ name: z.string(), config: TrainConfig, accuracy: z.number() });

export const evaluateModel = component({
  name: 'evaluate-model',
  description: 'Held-out accuracy and the confusion matrix.',
  inputs: { model: Model, test: Dataset },
  outputs: { metrics: Metrics, accuracy: z.number(), summary: Summary },
  async run({ model, test }, ctx) {
    const rows = await readRows(test.path);
    const saved = await model.readJson<SavedModel>();
    const e = evaluate(rows.map((r) => r.label), predict(saved, rows.map((r) => r.features)), SPECIES.length);
    const m = ctx.outputs.metrics;
    m.log('accuracy', e.accuracy);
    m.log('n', e.n);
    await m.writeJson({ model: describeConfig(saved.config), ...m.values, confusionMatrix: { labels: SPECIES, matrix: e.confusion } });
    return { accuracy: e.accuracy, summary: { name: describeConfig(saved.config), config: saved.config, accuracy: e.accuracy } };
  },
});

export const pickBest = component({
  name: 'pick-best',
  description: "The sweep point with the highest held-out accuracy (the first one on ties): its model and metrics, copied.",
  inputs: { models: listOf(Model), metrics: listOf(Metrics) },
  outputs: { model: Model, metrics: Metrics, name: z.string(), accuracy: z.number() },
  async run({ models, metrics }, ctx) {
    if (!models.length) throw new NonRetryableError('the sweep produced no models');
    if (models.length !== metrics.length) throw new NonRetryableError(`the sweep produced ${models.length} models but ${metrics.length} metrics`);
    // Collected lists are in item order: models[i] and metrics[i] come from the same sweep point.
    const scores = await Promise.all(metrics.map((m) => m.readJson<{ model: string; accuracy: number }>()));
    let best = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i]!.accuracy > scores[best]!.accuracy) best = i;
    const { model: name, accuracy } = scores[best]!;
    await ctx.outputs.model.copyFrom(models[best]!.path);
    await ctx.outputs.metrics.copyFrom(metrics[best]!.path);
    ctx.outputs.model.metadata['name'] = name;
    ctx.log.info('best', { model: name, accuracy, of: scores.length });
    return { name, accuracy };
  },
});

export const modelCard = component({
  name: 'model-card',
  description: 'A Markdown model card for the version that was just promoted.',
  inputs: { metrics: Metrics, name: z.string(), version: z.number().int() },
  outputs: { card: artifactType('Markdown') },
  async run({ metrics, name, version }, ctx) {
    const m = await metrics.readJson<{ accuracy: number; n: number; confusionMatrix: { labels: string[]; matrix: number[][] } }>();
    const { labels, matrix } = m.confusionMatrix;
    const lines = [
      `# iris v${version}: ${name}`, '', `Held-out accuracy **${m.accuracy.toFixed(4)}** on ${m.n} rows (run ${ctx.runId}).`, '',
      `| true \\ predicted | ${labels.join(' | ')} |`, `|---|${labels.map(() => '---:').join('|')}|`,
      ...matrix.map((row, i) => `| ${labels[i]} | ${row.join(' | ')} |`), '',
    ];
    await ctx.outputs.card.write(lines.join('\n'));
  },
});

export default pipeline(
  {
    name: 'tabular-training',
    // Function steps run in a pod from an image holding this repository (see the README's Dockerfile).
    image: 'sluice-examples:0.1.0',
    description: 'Iris: validate, split, sweep random forests and logistic regressions, promote the best.',
    params: {
      source: z.string().default('data/iris.csv'),
      testFraction: z.number().gt(0).lt(1).default(0.3),
      seed: z.number().int().default(1),
      minAccuracy: z.number().min(0).max(1).default(0.9),
    },
  },
  ({ source, testFraction, seed, minAccuracy }, p) => {
    const data = validateData({ source });
    const parts = splitData({ data: data.outputs.data, testFraction, seed });
    const sweep = p.forEach(SWEEP, (config) => {
      const fit = trainModel({ train: parts.outputs.train, config });
      const score = evaluateModel({ model: fit.outputs.model, test: parts.outputs.test });
      return { fit, score };
    }, { parallelism: 2, name: 'sweep' });
    // Fan-in of artifacts: every sweep point's model and metrics, in sweep order.
    const best = pickBest({ models: sweep.collect((i) => i.fit.outputs.model), metrics: sweep.collect((i) => i.score.outputs.metrics) });
    const { model, metrics, accuracy, name } = best.outputs;
    // The registry changes between runs: promote(...) is never served from the cache.
    const gate = promote({
      model, metrics, trainData: parts.outputs.train, evalData: parts.outputs.test, name: 'iris', min: minAccuracy,
      gate: { metric: 'accuracy', guards: [{ metric: 'n', maxRegression: 0 }] },
    });
    const { promoted, version, reason } = gate.outputs;
    // Only a promotion gets a model card.
    p.when(promoted.eq(true), () => { modelCard({ metrics, name, version }); }, { name: 'promoted' });
    return { model, metrics, accuracy, name, promoted, version, decision: reason, sweep: sweep.collect((i) => i.score.outputs.summary) };
  },
);
