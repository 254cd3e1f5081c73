/** Classification metrics. */

export interface Evaluation {
  readonly accuracy: number;
  /** `matrix[actual][predicted]` counts. */
  readonly confusion: number[][];
  readonly n: number;
}

export function evaluate(actual: readonly number[], predicted: readonly number[], classes: number): Evaluation {
  if (actual.length !== predicted.length) throw new Error(`expected as many predictions as labels, got ${predicted.length} for ${actual.length}`);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, p = predicted[i]!;
    confusion[a]![p]!++;
    if (a === p) correct++;
  }
  return { accuracy: actual.length ? correct / actual.length : 0, confusion, n: actual.length };
}
