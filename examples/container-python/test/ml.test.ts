/** The Python script and the TypeScript helpers alone, without the runner. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIT_LINE_PY } from '../pipeline.ts';
import { checkNumericCsv, predictLine, resolveDataPath, type Line } from '../src/data.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-fit-line-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fit(data: string): { model: Line; metrics: Record<string, number>; r2: string } {
  const out = (n: string) => join(dir, n);
  execFileSync('python3', ['-c', FIT_LINE_PY, '--data', data, '--x', 'size_m2', '--y', 'price_k', '--model', out('m.json'), '--metrics', out('me.json'), '--r2', out('r2')], { stdio: 'pipe' });
  return { model: JSON.parse(readFileSync(out('m.json'), 'utf8')), metrics: JSON.parse(readFileSync(out('me.json'), 'utf8')), r2: readFileSync(out('r2'), 'utf8') };
}

describe('fit_line.py', () => {
  it('recovers the line the data was drawn from (1.8 k€/m², 60 k€) with held-out R^2 > 0.9', () => {
    const { model, metrics, r2 } = fit(resolveDataPath('data/houses.csv'));
    expect(model.slope).toBeCloseTo(1.8, 1);
    expect(Math.abs(model.intercept - 60)).toBeLessThan(5);
    expect(metrics.r2).toBeGreaterThan(0.9);
    expect(metrics).toMatchObject({ trainRows: 160, testRows: 40 });
    expect(Number(r2)).toBe(metrics.r2);
    expect(predictLine(model, 100)).toBeCloseTo(model.slope * 100 + model.intercept);
  });

  it('fits an exact line exactly', () => {
    const f = join(dir, 'exact.csv');
    writeFileSync(f, `size_m2,price_k\n${Array.from({ length: 20 }, (_, i) => `${i},${3 * i + 2}`).join('\n')}\n`);
    const { model, metrics } = fit(f);
    expect(model.slope).toBeCloseTo(3, 10);
    expect(model.intercept).toBeCloseTo(2, 10);
    expect(metrics.r2).toBeCloseTo(1, 10);
  });

  it('fails with exit code 2 and a message naming a missing column', () => {
    const f = join(dir, 'bad.csv');
    writeFileSync(f, 'a,b\n1,2\n');
    expect(() => fit(f)).toThrow(/column 'size_m2' not in/);
  });
});

describe('checkNumericCsv', () => {
  it('counts rows and names the first bad value', () => {
    expect(checkNumericCsv(readFileSync(resolveDataPath('data/houses.csv'), 'utf8'), ['size_m2', 'price_k'])).toBe(200);
    expect(() => checkNumericCsv('size_m2,price_k\n1,2\n3,x\n', ['size_m2', 'price_k'])).toThrow('line 3: price_k is "x", expected a number');
    expect(() => checkNumericCsv('a,b\n', ['size_m2'])).toThrow('column "size_m2" is missing; the file has a,b');
  });
});
