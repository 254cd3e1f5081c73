// The package ships no types; this covers what the example uses.
declare module 'ml-logistic-regression' {
  import type { Matrix } from 'ml-matrix';
  export default class LogisticRegression {
    constructor(options?: { numSteps?: number; learningRate?: number });
    train(X: Matrix, Y: Matrix): void;
    predict(X: Matrix): number[];
    readonly classifiers: readonly { testScores(X: Matrix): number[] }[];
    toJSON(): unknown;
    static load(model: unknown): LogisticRegression;
  }
}
