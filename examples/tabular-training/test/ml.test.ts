/** The example's ML code alone, without the runner. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SWEEP } from '../pipeline.ts';
import { formatRowIssues, resolveDataPath, split, validateCsv, type Row } from '../src/data.ts';
import { evaluate } from '../src/metrics.ts';
import { describeConfig, predict, train } from '../src/models.ts';

const IRIS = readFileSync(resolveDataPath('data/iris.csv'), 'utf8');

function rows(): Row[] {
  const v = validateCsv(IRIS);
  if (!v.ok) throw new Error(formatRowIssues(v.issues));
  return v.rows;
}

describe('validateCsv', () => {
  it('accepts the shipped iris data: 150 rows, 50 per species', () => {
    const r = rows();
    expect(r).toHaveLength(150);
    expect([0, 1, 2].map((k) => r.filter((x) => x.label === k).length)).toEqual([50, 50, 50]);
  });

  it('reports every bad row with its line, field and reason', () => {
    const lines = IRIS.trimEnd().split('\n');
    lines[3] = '5.1,abc,1.4,0.2,setosa';
    lines[10] = '5.1,3.5,1.4,-0.2,setosa';
    lines[20] = '5.1,3.5,1.4,0.2,tulip';
    lines[30] = '5.1,3.5,1.4';
    lines[40] = '5.1,3.5,,0.2,setosa';
    const v = validateCsv(lines.join('\n'));
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(formatRowIssues(v.issues)).toBe([
      'line 4, sepal_width: not a number',
      'line 11, petal_width: must be > 0 cm',
      'line 21, species: unknown species "tulip"',
      'line 31, row: expected 5 values, got 3',
      'line 41, petal_length: not a number',
    ].join('\n'));
  });

  it('rejects a wrong header, too few rows and a missing species', () => {
    expect(validateCsv('a,b\n1,2\n')).toEqual({ ok: false, issues: [{ line: 1, field: 'header', message: 'expected columns sepal_length,sepal_width,petal_length,petal_width,species, got a,b' }] });
    const setosaOnly = IRIS.trimEnd().split('\n').slice(0, 51).join('\n');
    const v = validateCsv(setosaOnly);
    expect(v.ok ? [] : v.issues.map((i) => i.message)).toEqual(['no rows of species versicolor', 'no rows of species virginica']);
    const few = validateCsv(IRIS.trimEnd().split('\n').slice(0, 5).join('\n'));
    expect(few.ok ? [] : few.issues.map((i) => i.message)).toContain('expected at least 30 rows, got 4');
  });
});

describe('split', () => {
  it('is stratified, disjoint and deterministic for a seed', () => {
    const all = rows();
    const a = split(all, 0.3, 1);
    expect(a.test).toHaveLength(45);
    expect(a.train).toHaveLength(105);
    expect([0, 1, 2].map((k) => a.test.filter((r) => r.label === k).length)).toEqual([15, 15, 15]);
    expect(new Set([...a.train, ...a.test]).size).toBe(150);
    expect(split(all, 0.3, 1)).toEqual(a);
    expect(split(all, 0.3, 2).test).not.toEqual(a.test);
  });
});

describe('models', () => {
  const { train: tr, test } = split(rows(), 0.3, 1);
  const labels = test.map((r) => r.label);
  for (const config of SWEEP) {
    it(`${describeConfig(config)} scores at least 0.85 on held-out data and survives a JSON round trip`, () => {
      const model = train(config, tr);
      const predicted = predict(model, test.map((r) => r.features));
      expect(evaluate(labels, predicted, 3).accuracy).toBeGreaterThanOrEqual(0.85);
      expect(predict(JSON.parse(JSON.stringify(model)), test.map((r) => r.features))).toEqual(predicted);
    });
  }

  it('a model that predicts one class scores a third, with the confusion matrix to show it', () => {
    const e = evaluate([0, 1, 2], [0, 0, 0], 3);
    expect(e.accuracy).toBeCloseTo(1 / 3);
    expect(e.confusion).toEqual([[1, 0, 0], [1, 0, 0], [1, 0, 0]]);
  });
});
