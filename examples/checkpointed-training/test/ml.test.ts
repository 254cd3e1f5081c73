/** The trainer's maths alone, without the runner. */
import { describe, expect, it } from 'vitest';
import { accuracy, initModel, irisSplit, loss, trainEpoch, type SoftmaxModel } from '../src/softmax.ts';

const opts = { learningRate: 0.5, batchSize: 16, seed: 1 };
const { train, val } = irisSplit(0.3, 1);

function run(m: SoftmaxModel, from: number, to: number): SoftmaxModel {
  for (let e = from; e <= to; e++) m = trainEpoch(m, train, e, opts);
  return m;
}

describe('softmax regression', () => {
  it('learns iris: validation accuracy >= 0.9 after 40 epochs, loss falling', () => {
    const m0 = initModel(train, 3);
    const m10 = run(m0, 1, 10);
    const m40 = run(m10, 11, 40);
    expect(loss(m10, train)).toBeLessThan(loss(m0, train));
    expect(loss(m40, train)).toBeLessThan(loss(m10, train));
    expect(accuracy(m40, val)).toBeGreaterThanOrEqual(0.9);
    expect(train).toHaveLength(105);
    expect(val).toHaveLength(45);
  });

  it('resuming from a JSON checkpoint gives the very weights of an uninterrupted run', () => {
    const straight = run(initModel(train, 3), 1, 40);
    const checkpoint = JSON.parse(JSON.stringify(run(initModel(train, 3), 1, 17))) as SoftmaxModel;
    expect(run(checkpoint, 18, 40).weights).toEqual(straight.weights);
  });

  it('starting over is not the same as resuming (the test above can fail)', () => {
    const straight = run(initModel(train, 3), 1, 40);
    const restarted = run(run(initModel(train, 3), 1, 17), 1, 23);
    expect(restarted.weights).not.toEqual(straight.weights);
  });
});
