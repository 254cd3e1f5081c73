import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chi2Quantile, chi2Sf, kolmogorovSf } from '../src/stats/special.ts';
import { binCounts, chiSquare, jensenShannon, ksTwoSample, psi, quantileEdges, sortSample, wasserstein1, wassersteinNormalised } from '../src/stats/two-sample.ts';
import { adjustPValues } from '../src/stats/drift.ts';

interface Fixtures {
  scipy: string;
  ks: { a: number[]; b: number[]; statistic: number; pvalue: number; method: 'exact' | 'asymp' }[];
  kstwo: { n: number; d: number; sf: number }[];
  wasserstein: { a: number[]; b: number[]; distance: number; normalised: number }[];
  js: { p: number[]; q: number[]; distance: number }[];
  chi2: { reference: number[]; current: number[]; statistic: number; pvalue: number; dof: number }[];
  psi: { a: number[]; b: number[]; bins: number; edges: number[]; refCounts: number[]; curCounts: number[]; psi: number; chi2p: number }[];
  chi2ppf: { k: number; q95: number; q99: number }[];
  chi2sf: { k: number; x: number; sf: number }[];
  bh: { p: number[]; adjusted: number[] }[];
}
const fx = JSON.parse(readFileSync(new URL('./fixtures/drift.json', import.meta.url), 'utf8')) as Fixtures;

/** |got - want| within an absolute floor plus a relative tolerance. */
function close(got: number, want: number, rel: number, abs = 1e-12): void {
  expect(Math.abs(got - want), `got ${got}, scipy ${want}`).toBeLessThanOrEqual(abs + rel * Math.abs(want));
}

describe(`drift statistics against scipy ${fx.scipy}`, () => {
  it('two-sample KS: statistic exact, p-value exact/asymp as ks_2samp chooses', () => {
    expect(fx.ks.length).toBeGreaterThan(8);
    for (const c of fx.ks) {
      const r = ksTwoSample(sortSample(c.a), sortSample(c.b));
      expect(r.method).toBe(c.method);
      close(r.statistic, c.statistic, 1e-12);
      close(r.pvalue, c.pvalue, 1e-6, 1e-10);
    }
  });

  it('Kolmogorov distribution kstwo.sf across Durbin and Pelz-Good regions', () => {
    for (const c of fx.kstwo) close(kolmogorovSf(c.n, c.d), c.sf, 1e-4, 1e-9);
  });

  it('Wasserstein-1 and its normalisation by the reference standard deviation', () => {
    for (const c of fx.wasserstein) {
      close(wasserstein1(sortSample(c.a), sortSample(c.b)), c.distance, 1e-10);
      close(wassersteinNormalised(sortSample(c.a), sortSample(c.b)), c.normalised, 1e-10);
    }
  });

  it('Jensen-Shannon distance, base 2', () => {
    for (const c of fx.js) close(jensenShannon(c.p, c.q), c.distance, 1e-12);
  });

  it('chi-square homogeneity test (chi2_contingency, no continuity correction)', () => {
    for (const c of fx.chi2) {
      const r = chiSquare(c.reference, c.current);
      expect(r.dof).toBe(c.dof);
      close(r.statistic, c.statistic, 1e-10);
      close(r.pvalue, c.pvalue, 1e-8, 1e-14);
    }
  });

  it('PSI over reference-quantile bins (numpy quantile + searchsorted right)', () => {
    for (const c of fx.psi) {
      const ref = sortSample(c.a);
      const edges = quantileEdges(ref, c.bins);
      expect(edges.length).toBe(c.edges.length);
      edges.forEach((e, i) => close(e, c.edges[i]!, 1e-12));
      expect(binCounts(ref, edges)).toEqual(c.refCounts);
      expect(binCounts(sortSample(c.b), edges)).toEqual(c.curCounts);
      close(psi(c.refCounts, c.curCounts), c.psi, 1e-10);
      close(chiSquare(c.refCounts, c.curCounts).pvalue, c.chi2p, 1e-8, 1e-14);
    }
  });

  it('chi-square quantiles and tails', () => {
    for (const c of fx.chi2ppf) {
      close(chi2Quantile(0.95, c.k), c.q95, 1e-9);
      close(chi2Quantile(0.99, c.k), c.q99, 1e-9);
    }
    for (const c of fx.chi2sf) close(chi2Sf(c.x, c.k), c.sf, 1e-9, 1e-300);
  });

  it('Benjamini-Hochberg adjusted p-values (false_discovery_control) and Bonferroni', () => {
    for (const c of fx.bh) adjustPValues(c.p, 'benjamini-hochberg').forEach((p, i) => close(p, c.adjusted[i]!, 1e-12));
    expect(adjustPValues([0.01, 0.2, 0.5], 'bonferroni')).toEqual([0.03, 0.6000000000000001, 1]);
  });
});
