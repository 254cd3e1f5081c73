import { describe, expect, it } from 'vitest';
import { adjustPValues, evaluateDrift, formatDriftReport, minSampleSize, prepareReference, type DriftSpec } from '../src/stats/drift.ts';
import { binCounts, ksTwoSample, psi, quantileEdges, sortSample } from '../src/stats/two-sample.ts';

/** Seeded uniform (mulberry32) and normal (Box-Muller) draws: the simulations are reproducible. */
function rng(seed: number) {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (n: number, mu = 0) => Float64Array.from({ length: n }, () => mu + Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()));
  return { u, normal };
}

const features = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, kind: 'numeric' as const }));
const spec = (over: Partial<DriftSpec> = {}): DriftSpec => ({ statistic: 'psi', threshold: 0.1, alpha: 0.05, correction: 'bonferroni', bins: 10, features, ...over });

describe('sample-size awareness', () => {
  it('derives the minimum window from the threshold: ≈ χ²₀.₉₅(B-1)/θ with a large reference, 2·χ²/θ with an equal one', () => {
    // χ²₀.₉₅(9) = 16.919
    expect(minSampleSize(spec(), 1e9)).toBe(170);
    expect(minSampleSize(spec(), 338)).toBeGreaterThanOrEqual(338);
    expect(minSampleSize(spec({ threshold: 0.2 }), 1e9)).toBe(85);
    expect(minSampleSize(spec(), 100)).toBe(Infinity);
  });

  it('with no drift, PSI > 0.1 at 100 rows per window happens most of the time; at the minimum n about α of the time', () => {
    const r = rng(7);
    const ref = sortSample(r.normal(100));
    const edges = quantileEdges(ref, 10);
    const rc = binCounts(ref, edges);
    let over = 0;
    for (let i = 0; i < 1000; i++) if (psi(rc, binCounts(sortSample(r.normal(100)), edges)) > 0.1) over++;
    expect(over / 1000).toBeGreaterThan(0.7); // the 84%

    const m = 20_000;
    const big = sortSample(r.normal(m));
    const e2 = quantileEdges(big, 10);
    const c2 = binCounts(big, e2);
    const n = minSampleSize(spec(), m);
    let over2 = 0;
    const trials = 2000;
    for (let i = 0; i < trials; i++) if (psi(c2, binCounts(sortSample(r.normal(n)), e2)) > 0.1) over2++;
    // PSI's chi-square approximation: ≈5%; allow 3 standard errors of the simulation
    expect(over2 / trials).toBeLessThan(0.05 + 3 * Math.sqrt((0.05 * 0.95) / trials));
  });

  it('below the minimum the decision is "insufficient samples (n, need)"', () => {
    const r = rng(1);
    const cols = Object.fromEntries(features.map((f) => [f.name, r.normal(5000)]));
    const ref = prepareReference(spec(), cols);
    const cur = Object.fromEntries(features.map((f) => [f.name, r.normal(120)]));
    const rep = evaluateDrift(spec(), ref, cur);
    expect(rep).toEqual({ kind: 'insufficient', n: 120, need: 176, reason: 'insufficient samples (120, need 176)' });
  });
});

describe('null simulation: false fire rate at the minimum sample size', () => {
  for (const statistic of ['psi', 'ks', 'js', 'wasserstein'] as const) {
    it(`${statistic}: fires on at most α of no-drift windows (5 features, Bonferroni)`, () => {
      const r = rng(statistic.length * 101);
      const s = spec({ statistic, threshold: statistic === 'psi' ? 0.1 : 0.1 });
      const ref = prepareReference(s, Object.fromEntries(features.map((f) => [f.name, r.normal(20_000)])));
      const n = minSampleSize(s, ref.rows);
      expect(n).toBeGreaterThan(50);
      expect(n).toBeLessThan(2000);
      let fires = 0;
      const trials = 300;
      for (let i = 0; i < trials; i++) {
        const rep = evaluateDrift(s, ref, Object.fromEntries(features.map((f) => [f.name, r.normal(n)])));
        expect(rep.kind).toBe('evaluated');
        if (rep.kind === 'evaluated' && rep.drifted.length > 0) fires++;
      }
      expect(fires / trials).toBeLessThanOrEqual(0.05);
    });
  }

  it('and does fire on real drift at that size', () => {
    const r = rng(3);
    const s = spec();
    const ref = prepareReference(s, Object.fromEntries(features.map((f) => [f.name, r.normal(20_000)])));
    const n = minSampleSize(s, ref.rows);
    const cur = Object.fromEntries(features.map((f) => [f.name, r.normal(n, f.name === 'c' ? 1 : 0)]));
    const rep = evaluateDrift(s, ref, cur);
    expect(rep.kind === 'evaluated' && rep.drifted).toEqual(['c']);
  });
});

describe('significance and effect size', () => {
  it('on a large window a tiny shift is significant but below the effect threshold: no drift', () => {
    const r = rng(11);
    const s = spec({ statistic: 'ks', features: [{ name: 'x', kind: 'numeric' }] });
    const ref = prepareReference(s, { x: r.normal(200_000) });
    const rep = evaluateDrift(s, ref, { x: r.normal(100_000, 0.05) });
    if (rep.kind !== 'evaluated') throw new Error('expected an evaluation');
    const f = rep.features[0]!;
    expect(f.pAdjusted).toBeLessThan(1e-6);
    expect(f.test).toBe('ks-asymp');
    expect(f.value).toBeLessThan(0.1);
    expect(f.drifted).toBe(false);
    expect(rep.value).toBeCloseTo(f.value, 12);
  });

  it('Benjamini-Hochberg finds more drifted features than Bonferroni on the same data', () => {
    const ps = [0.011, 0.02, 0.03, 0.3];
    expect(adjustPValues(ps, 'bonferroni').filter((p) => p < 0.05)).toHaveLength(1);
    expect(adjustPValues(ps, 'benjamini-hochberg').filter((p) => p < 0.05)).toHaveLength(3);
  });

  it('categorical features: chi-square on category counts, categories new in the window count', () => {
    const s = spec({ features: [{ name: 'colour', kind: 'categorical' }] });
    const refCol = Array.from({ length: 3000 }, (_, i) => ['red', 'green', 'blue'][i % 3]!);
    const curCol = Array.from({ length: 600 }, (_, i) => ['red', 'green', 'blue', 'violet'][i % 4]!);
    const rep = evaluateDrift(s, prepareReference(s, { colour: refCol }), { colour: curCol });
    if (rep.kind !== 'evaluated') throw new Error(JSON.stringify(rep));
    expect(rep.features[0]!.bins?.categories).toEqual(['blue', 'green', 'red', 'violet']);
    expect(rep.drifted).toEqual(['colour']);
    expect(formatDriftReport(rep)).toMatch(/^feature\s+statistic\s+value\s+p\s+p \(adj\)\s+n ref\s+n cur\s+drifted\ncolour\s+psi-categorical\s+\S+\s+\S+\s+\S+\s+3000\s+600\s+yes\n$/);
  });

  it('KS exact p-value is symmetric in its samples and 1 for identical ones', () => {
    const a = sortSample([1, 2, 3, 4, 5, 6]);
    const b = sortSample([3.5, 4.5, 7, 8]);
    expect(ksTwoSample(a, b).pvalue).toBeCloseTo(ksTwoSample(b, a).pvalue, 14);
    expect(ksTwoSample(a, a)).toEqual({ statistic: 0, pvalue: 1, method: 'exact' });
  });
});
