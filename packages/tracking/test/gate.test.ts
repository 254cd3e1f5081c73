/** Promotion gates: each case refused or accepted with its reason pinned. */
import { describe, expect, it } from 'vitest';
import { checkGateSpec, decideGate, type GateEvidence } from '../src/index.ts';

const holder: GateEvidence = { version: '3', metrics: { accuracy: 0.93, recall: 0.9 }, evalData: ['sha256:eval'], trainData: ['sha256:train-a'] };
const ch = (metrics: Record<string, number>, over: Partial<GateEvidence> = {}): GateEvidence => ({ version: '4', metrics, evalData: ['sha256:eval'], trainData: ['sha256:train-b'], ...over });

describe('decideGate', () => {
  it('refuses a worse challenger', () => {
    const d = decideGate({ metric: 'accuracy' }, ch({ accuracy: 0.8, recall: 0.9 }), holder);
    expect(d.passed).toBe(false);
    expect(d.reasons).toEqual(['accuracy 0.8 vs 0.93 of version 3: worse by 0.13']);
  });
  it('refuses an equal challenger (it must beat the holder)', () => {
    const d = decideGate({ metric: 'accuracy' }, ch({ accuracy: 0.93, recall: 0.9 }), holder);
    expect(d.passed).toBe(false);
    expect(d.reasons).toEqual(['accuracy 0.93 vs 0.93 of version 3: equal by 0']);
  });
  it('refuses a better challenger that does not beat the holder by minDelta', () => {
    const d = decideGate({ metric: 'accuracy', minDelta: 0.02 }, ch({ accuracy: 0.94, recall: 0.9 }), holder);
    expect(d.passed).toBe(false);
    expect(d.reasons[0]).toBe('accuracy 0.94 vs 0.93 of version 3: better by 0.01, needs at least 0.02');
  });
  it('refuses a better challenger that regresses a guard metric by more than allowed', () => {
    const d = decideGate({ metric: 'accuracy', guards: [{ metric: 'recall', maxRegression: 0.05 }] }, ch({ accuracy: 0.97, recall: 0.8 }), holder);
    expect(d.passed).toBe(false);
    expect(d.reasons).toEqual(['guard "recall" 0.8 vs 0.9: regresses by 0.1, more than the allowed 0.05']);
  });
  it('refuses a model evaluated on its own training data', () => {
    const d = decideGate({ metric: 'accuracy' }, ch({ accuracy: 0.99, recall: 0.95 }, { trainData: ['sha256:eval'] }), holder);
    expect(d.passed).toBe(false);
    expect(d.reasons).toEqual(['the model was evaluated on data it was trained on (eval)']);
  });
  it('refuses a comparison on other held-out data', () => {
    const d = decideGate({ metric: 'accuracy' }, ch({ accuracy: 0.99, recall: 0.95 }, { evalData: ['sha256:other'] }), holder);
    expect(d.passed).toBe(false);
    expect(d.reasons[0]).toMatch(/^evaluated on other data than the holder \(other vs eval\)/);
  });
  it('refuses a half-trained model that has no value for the gate metric, and one under the bar', () => {
    expect(decideGate({ metric: 'accuracy' }, ch({ loss: 2.3 }), holder).reasons).toEqual(['the challenger has no value for "accuracy" (it has: loss)']);
    expect(decideGate({ metric: 'accuracy', min: 0.9 }, ch({ accuracy: 0.41 }), undefined).reasons).toEqual(['accuracy 0.41 does not meet the bar >= 0.9']);
  });
  it('accepts a better challenger that keeps its guards, and the first model over the bar', () => {
    const d = decideGate({ metric: 'accuracy', minDelta: 0.01, guards: [{ metric: 'recall', maxRegression: 0.02 }] }, ch({ accuracy: 0.95, recall: 0.89 }), holder);
    expect(d.passed).toBe(true);
    expect(d.checks.map((c) => c.check)).toEqual(['improvement', 'guard:recall', 'same-eval-data', 'no-overlap']);
    expect(decideGate({ metric: 'accuracy', min: 0.9 }, ch({ accuracy: 0.95 }), undefined).passed).toBe(true);
  });
  it('understands lower-is-better metrics', () => {
    const h: GateEvidence = { ...holder, metrics: { loss: 0.5 } };
    expect(decideGate({ metric: 'loss', direction: 'min' }, ch({ loss: 0.4 }), h).passed).toBe(true);
    expect(decideGate({ metric: 'loss', direction: 'min' }, ch({ loss: 0.6 }), h).reasons).toEqual(['loss 0.6 vs 0.5 of version 3: worse by 0.1']);
  });
});

describe('checkGateSpec', () => {
  it('names every bad field', () => {
    expect(checkGateSpec({ metric: '', direction: 'up' as 'max', minDelta: -1, guards: [{ metric: 'x', maxRegression: Number.NaN }] })).toEqual([
      'gate.metric: expected a metric name, got ""',
      'gate.direction: expected "max" or "min", got "up"',
      'gate.minDelta: expected a non-negative finite number, got -1',
      'gate.guards[0].maxRegression: expected a non-negative finite number, got null',
    ]);
  });
});
