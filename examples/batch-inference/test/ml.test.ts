/** The example's scoring code alone, without the runner. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PREDICTION_HEADER, generateBatch, mergePredictions, planPartitions, readBatch } from '../src/batch.ts';
import { score, trainScorer } from '../src/model.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('generateBatch', () => {
  it('is deterministic for a seed and has the asked row count', () => {
    const a = generateBatch(1000, 1);
    expect(sha(generateBatch(1000, 1))).toBe(sha(a));
    expect(sha(generateBatch(1000, 2))).not.toBe(sha(a));
    expect(readBatch(a)).toHaveLength(1000);
    expect(readBatch(a, 10, 20).map((r) => r.id)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  it('rejects a malformed file with the line that is wrong', () => {
    const bad = generateBatch(3, 1).replace(/\n1,[^,]*,/, '\n1,oops,');
    expect(() => readBatch(bad)).toThrow(/^line 3: expected id, four numbers and a label, got "1,oops,/);
  });
});

describe('planPartitions', () => {
  it('covers every row once, in order, none empty', () => {
    for (const [rows, parts] of [[20_000, 8], [10, 3], [2, 5], [1, 1]] as const) {
      const plan = planPartitions(rows, parts);
      expect(plan[0]!.start).toBe(0);
      expect(plan[plan.length - 1]!.end).toBe(rows);
      plan.forEach((r, i) => {
        expect(r.index).toBe(i);
        expect(r.end).toBeGreaterThan(r.start);
        if (i > 0) expect(r.start).toBe(plan[i - 1]!.end);
      });
    }
    expect(planPartitions(2, 5)).toHaveLength(2);
  });
});

describe('scoring in partitions', () => {
  it('gives the same rows as scoring at once, and agrees with the drawn species on > 90% of rows', () => {
    const csv = generateBatch(3000, 7);
    const model = JSON.parse(JSON.stringify(trainScorer()));
    const parts = planPartitions(3000, 4).map(({ start, end }) => {
      const rows = readBatch(csv, start, end);
      const s = score(model, rows.map((r) => r.features));
      return [PREDICTION_HEADER, ...rows.map((r, i) => `${r.id},${s[i]!.predicted},${s[i]!.confidence.toFixed(4)},${r.label}`)].join('\n');
    });
    const merged = mergePredictions(parts);
    expect(merged.rows).toBe(3000);
    const lines = merged.csv.trimEnd().split('\n').slice(1).map((l) => l.split(','));
    expect(lines.filter((c) => c[1] === c[3]).length / 3000).toBeGreaterThan(0.9);
    const all = readBatch(csv);
    expect(lines.map((c) => c[1])).toEqual(score(model, all.map((r) => r.features)).map((s) => s.predicted));
  });

  it('merging notices a missing partition', () => {
    const part = (ids: number[]) => [PREDICTION_HEADER, ...ids.map((i) => `${i},setosa,0.9,setosa`)].join('\n');
    expect(mergePredictions([part([0, 1]), part([2])]).rows).toBe(3);
    expect(() => mergePredictions([part([0, 1]), part([4])])).toThrow('expected row id 2 at position 2, got "4,setosa,0.9,setosa": a partition is missing or out of order');
  });
});
