/** Two model kinds behind one interface: train, predict, serialise, load. */
import LogisticRegression from 'ml-logistic-regression';
import { Matrix } from 'ml-matrix';
import { RandomForestClassifier } from 'ml-random-forest';
import { z } from 'zod';
import type { Row } from './data.ts';

/** One point of the hyperparameter sweep. */
export const TrainConfig = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('random-forest'),
    nEstimators: z.number().int().min(1).max(500),
    maxDepth: z.number().int().min(1).max(20),
    seed: z.number().int().default(42),
  }),
  z.object({
    kind: z.literal('logistic-regression'),
    learningRate: z.number().positive(),
    steps: z.number().int().min(1).max(100_000),
  }),
]);
export type TrainConfig = z.output<typeof TrainConfig>;

/** Feature standardisation learnt on the training set (logistic regression needs it). */
interface Scaler {
  readonly mean: number[];
  readonly std: number[];
}

/** The serialised model: what the `Model` artifact holds. */
export type SavedModel =
  | { readonly format: 'sluice-example/random-forest@1'; readonly config: TrainConfig; readonly forest: unknown }
  | { readonly format: 'sluice-example/logistic-regression@1'; readonly config: TrainConfig; readonly scaler: Scaler; readonly weights: unknown };

function fitScaler(rows: readonly Row[]): Scaler {
  const d = rows[0]?.features.length ?? 0;
  const mean = Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r.features[j]!, 0) / rows.length);
  const std = Array.from({ length: d }, (_, j) => Math.sqrt(rows.reduce((s, r) => s + (r.features[j]! - mean[j]!) ** 2, 0) / rows.length) || 1);
  return { mean, std };
}

/** Standardised features with a leading 1 for the intercept (the library fits no bias term). */
function design(features: readonly (readonly number[])[], s: Scaler): Matrix {
  return new Matrix(features.map((f) => [1, ...f.map((v, j) => (v - s.mean[j]!) / s.std[j]!)]));
}

/** Trains one model on `rows`. */
export function train(config: TrainConfig, rows: readonly Row[]): SavedModel {
  const c = TrainConfig.parse(config);
  const X = rows.map((r) => [...r.features]);
  const y = rows.map((r) => r.label);
  if (c.kind === 'random-forest') {
    const forest = new RandomForestClassifier({
      nEstimators: c.nEstimators,
      seed: c.seed,
      maxFeatures: 0.75,
      replacement: true,
      useSampleBagging: true,
      noOOB: true,
      treeOptions: { maxDepth: c.maxDepth },
    });
    forest.train(X, y);
    return { format: 'sluice-example/random-forest@1', config: c, forest: JSON.parse(JSON.stringify(forest.toJSON())) };
  }
  const scaler = fitScaler(rows);
  const lr = new LogisticRegression({ numSteps: c.steps, learningRate: c.learningRate });
  lr.train(design(X, scaler), Matrix.columnVector(y));
  return { format: 'sluice-example/logistic-regression@1', config: c, scaler, weights: JSON.parse(JSON.stringify(lr.toJSON())) };
}

/** Predicts class indices for feature rows. */
export function predict(model: SavedModel, features: readonly (readonly number[])[]): number[] {
  if (features.length === 0) return [];
  if (model.format === 'sluice-example/random-forest@1') {
    return RandomForestClassifier.load(model.forest as never).predict(features.map((f) => [...f]));
  }
  if (model.format === 'sluice-example/logistic-regression@1') {
    return LogisticRegression.load(model.weights).predict(design(features, model.scaler));
  }
  throw new Error(`unknown model format ${JSON.stringify((model as { format?: unknown }).format)}`);
}

/** A short human name for a config: `random-forest(n=50,depth=4)`. */
export function describeConfig(c: TrainConfig): string {
  return c.kind === 'random-forest' ? `random-forest(n=${c.nEstimators},depth=${c.maxDepth})` : `logistic-regression(lr=${c.learningRate},steps=${c.steps})`;
}
