/**
 * Drift of a current window against a reference, per feature and overall, with sample-size
 * awareness and multiple-testing correction. Pure: data in, a report out.
 */
import { chi2Quantile } from './special.ts';
import {
  binCounts, chiSquare, jensenShannon, ksTwoSample, psi, quantileEdges, sortSample, wassersteinNormalised, type Sorted,
} from './two-sample.ts';

/** Effect-size statistic of a numeric feature. Categorical features always use `psi` over categories with a chi-square test. */
export type DriftStatistic = 'psi' | 'ks' | 'js' | 'wasserstein';
export type Correction = 'bonferroni' | 'benjamini-hochberg';

/** How drift is judged (plain data; part of a monitor trigger's IR). */
export interface DriftSpec {
  readonly statistic: DriftStatistic;
  /** Effect size at or above which a feature has drifted (PSI 0.2, KS D 0.1, JS distance 0.1, W1/σ 0.1, ...). */
  readonly threshold: number;
  /** Family-wise significance level (Bonferroni) or false discovery rate (Benjamini-Hochberg). @default 0.05 */
  readonly alpha: number;
  readonly correction: Correction;
  /** Bins for PSI and JS (reference quantiles). @default 10 */
  readonly bins: number;
  /** Features to compare; `categorical` ones are compared by category counts. */
  readonly features: readonly { readonly name: string; readonly kind: 'numeric' | 'categorical' }[];
}

export interface FeatureDrift {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  readonly statistic: DriftStatistic | 'psi-categorical';
  /** The effect size compared with the threshold. */
  readonly value: number;
  /** Raw p-value of the significance test (KS for numeric, chi-square for binned PSI and categorical). */
  readonly p: number;
  /** p after the correction across features. */
  readonly pAdjusted: number;
  readonly test: 'ks-exact' | 'ks-asymp' | 'chi2';
  readonly nReference: number;
  readonly nCurrent: number;
  /** Reference and current counts per bin (PSI, JS, categorical). */
  readonly bins?: { readonly edges?: readonly number[]; readonly categories?: readonly string[]; readonly reference: readonly number[]; readonly current: readonly number[] };
  readonly drifted: boolean;
}

export type DriftReport =
  | { readonly kind: 'insufficient'; readonly n: number; readonly need: number; readonly reason: string }
  | {
    readonly kind: 'evaluated';
    /** Largest effect among features that are also significant after correction; 0 when none is. */
    readonly value: number;
    readonly n: number;
    readonly need: number;
    readonly drifted: readonly string[];
    readonly features: readonly FeatureDrift[];
  };

/**
 * Smallest current window for which, with no drift, the effect statistic stays under `threshold`
 * with probability 1 - alpha. For binned statistics, n·PSI (and 8·ln2·n·JS²) is approximately
 * χ²(B-1) scaled by (1 + n/m) with a reference of m rows, so n ≥ q/(θ - q/m) with q = χ²₁₋α(B-1)
 * (about 2q/θ when the reference is as small as the window). For KS, D·sqrt(n·m/(n+m)) is
 * approximately Kolmogorov, so n ≥ c²/(θ² - c²/m) with c = sqrt(-ln(α/2)/2) (1.358 at α = 0.05).
 * W1/σ uses the KS rule (for a normal feature E[W1/σ] under no drift is below the KS D's). Returns
 * Infinity when the reference itself is too small for the threshold.
 */
export function minSampleSize(spec: Pick<DriftSpec, 'statistic' | 'threshold' | 'alpha' | 'bins'>, referenceRows: number, categories?: number): number {
  const m = referenceRows;
  if (spec.statistic === 'psi' || spec.statistic === 'js' || categories !== undefined) {
    const q = chi2Quantile(1 - spec.alpha, Math.max(1, (categories ?? spec.bins) - 1));
    // JS distance² (base 2) ≈ X² / (8·ln2·n_eff)
    const theta = spec.statistic === 'js' && categories === undefined ? spec.threshold ** 2 * 8 * Math.LN2 : spec.threshold;
    const den = theta - q / m;
    return den > 0 ? Math.ceil(q / den) : Infinity;
  }
  const c = Math.sqrt(-Math.log(spec.alpha / 2) / 2);
  const den = spec.threshold ** 2 - (c * c) / m;
  return den > 0 ? Math.ceil((c * c) / den) : Infinity;
}

/** Adjusted p-values: Bonferroni (p·m, capped at 1) or Benjamini-Hochberg (step-up, monotone). */
export function adjustPValues(ps: readonly number[], method: Correction): number[] {
  const m = ps.length;
  if (method === 'bonferroni') return ps.map((p) => Math.min(1, p * m));
  const order = ps.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(m);
  let min = 1;
  for (let r = m - 1; r >= 0; r--) {
    const [p, i] = order[r]!;
    min = Math.min(min, (p * m) / (r + 1));
    out[i] = Math.min(1, min);
  }
  return out;
}

/** A feature's values: numbers (NaN = missing) or category labels. */
export type Column = ArrayLike<number> | readonly (string | null)[];

/** A reference prepared once (sorted numeric columns, category counts) and compared with many windows. */
export interface PreparedReference {
  readonly rows: number;
  readonly numeric: ReadonlyMap<string, { readonly sorted: Sorted; readonly edges: readonly number[]; readonly counts: readonly number[] }>;
  readonly categorical: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

function isStringColumn(c: Column): c is readonly (string | null)[] {
  return c.length > 0 && typeof (c as ArrayLike<unknown>)[0] === 'string';
}

function categoryCounts(c: readonly (string | null)[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of c) if (v !== null) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

export function prepareReference(spec: DriftSpec, columns: { readonly [feature: string]: Column }): PreparedReference {
  const numeric = new Map<string, { sorted: Sorted; edges: number[]; counts: number[] }>();
  const categorical = new Map<string, Map<string, number>>();
  let rows = Infinity;
  for (const f of spec.features) {
    const col = columns[f.name];
    if (!col) throw new RangeError(`reference has no column "${f.name}"`);
    rows = Math.min(rows, col.length);
    if (f.kind === 'categorical') categorical.set(f.name, categoryCounts(isStringColumn(col) ? col : Array.from(col as ArrayLike<number>, String)));
    else {
      const sorted = sortSample(col as ArrayLike<number>);
      const edges = quantileEdges(sorted, spec.bins);
      numeric.set(f.name, { sorted, edges, counts: binCounts(sorted, edges) });
    }
  }
  return { rows: rows === Infinity ? 0 : rows, numeric, categorical };
}

/**
 * Compares `current` with the reference. Below the minimum sample size the report is
 * `insufficient` (the caller skips with "insufficient samples (n, need)"). A feature drifts when
 * its effect size reaches the threshold **and** its corrected p-value is below alpha, so that on a
 * large window a tiny but significant shift does not fire, and on a small one noise does not.
 */
export function evaluateDrift(spec: DriftSpec, ref: PreparedReference, current: { readonly [feature: string]: Column }): DriftReport {
  let n = Infinity;
  for (const f of spec.features) n = Math.min(n, current[f.name]?.length ?? 0);
  if (n === Infinity) n = 0;
  let need = 0;
  for (const f of spec.features) {
    const cats = f.kind === 'categorical' ? ref.categorical.get(f.name)?.size ?? 2 : undefined;
    need = Math.max(need, minSampleSize(spec, ref.rows, cats));
  }
  if (n < need) return { kind: 'insufficient', n, need, reason: `insufficient samples (${n}, need ${need === Infinity ? 'a larger reference' : need})` };
  const raw: Omit<FeatureDrift, 'pAdjusted' | 'drifted'>[] = [];
  for (const f of spec.features) {
    const col = current[f.name]!;
    if (f.kind === 'categorical') {
      const rc = ref.categorical.get(f.name)!;
      const cc = categoryCounts(isStringColumn(col) ? col : Array.from(col as ArrayLike<number>, String));
      const categories = [...new Set([...rc.keys(), ...cc.keys()])].sort();
      const r = categories.map((c) => rc.get(c) ?? 0);
      const c = categories.map((k) => cc.get(k) ?? 0);
      const t = chiSquare(r, c);
      raw.push({ feature: f.name, kind: 'categorical', statistic: 'psi-categorical', value: psi(r, c), p: t.pvalue, test: 'chi2', nReference: ref.rows, nCurrent: col.length, bins: { categories, reference: r, current: c } });
      continue;
    }
    const rn = ref.numeric.get(f.name)!;
    const cur = sortSample(col as ArrayLike<number>);
    if (spec.statistic === 'psi' || spec.statistic === 'js') {
      const cc = binCounts(cur, rn.edges);
      const t = chiSquare(rn.counts, cc);
      const value = spec.statistic === 'psi' ? psi(rn.counts, cc) : jensenShannon(rn.counts, cc);
      raw.push({ feature: f.name, kind: 'numeric', statistic: spec.statistic, value, p: t.pvalue, test: 'chi2', nReference: rn.sorted.length, nCurrent: cur.length, bins: { edges: rn.edges, reference: rn.counts, current: cc } });
    } else {
      const ks = ksTwoSample(rn.sorted, cur);
      const value = spec.statistic === 'ks' ? ks.statistic : wassersteinNormalised(rn.sorted, cur);
      raw.push({ feature: f.name, kind: 'numeric', statistic: spec.statistic, value, p: ks.pvalue, test: ks.method === 'exact' ? 'ks-exact' : 'ks-asymp', nReference: rn.sorted.length, nCurrent: cur.length });
    }
  }
  const adj = adjustPValues(raw.map((r) => r.p), spec.correction);
  const features = raw.map((r, i): FeatureDrift => ({ ...r, pAdjusted: adj[i]!, drifted: adj[i]! < spec.alpha && r.value >= spec.threshold }));
  const drifted = features.filter((f) => f.drifted).map((f) => f.feature);
  const value = features.reduce((mx, f) => (f.pAdjusted < spec.alpha ? Math.max(mx, f.value) : mx), 0);
  return { kind: 'evaluated', value, n, need, drifted, features };
}

/** A drift report as a table a person reads (the artifact attached to the triggered run). */
export function formatDriftReport(r: DriftReport): string {
  if (r.kind === 'insufficient') return `${r.reason}\n`;
  const rows = [['feature', 'statistic', 'value', 'p', 'p (adj)', 'n ref', 'n cur', 'drifted'], ...r.features.map((f) => [
    f.feature, f.statistic, f.value.toPrecision(4), f.p.toExponential(2), f.pAdjusted.toExponential(2), String(f.nReference), String(f.nCurrent), f.drifted ? 'yes' : 'no',
  ])];
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(w[c]!)).join('  ').trimEnd()).join('\n') + '\n';
}
