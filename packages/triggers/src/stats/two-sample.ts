/**
 * Two-sample drift statistics over numeric columns (sorted once, shared by every statistic) and
 * categorical counts. Each function states the convention it follows and the scipy function it is
 * tested against (fixtures in test/fixtures/drift.json, made by test/fixtures/make_fixtures.py).
 */
import { chi2Sf, kolmogorovSf } from './special.ts';

/** A numeric sample sorted ascending, with NaNs removed. */
export type Sorted = Float64Array & { readonly __sorted: true };

/** Sorts a copy of `xs` ascending, dropping NaN (they are missing values, not data). */
export function sortSample(xs: ArrayLike<number>): Sorted {
  let n = 0;
  const out = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    if (v === v) out[n++] = v;
  }
  return out.subarray(0, n).sort() as Sorted;
}

/** Samples above which the KS p-value is asymptotic, as in scipy (`MAX_AUTO_N`). */
export const KS_EXACT_MAX_N = 10_000;

export interface KsResult {
  readonly statistic: number;
  readonly pvalue: number;
  readonly method: 'exact' | 'asymp';
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Two-sided two-sample Kolmogorov-Smirnov test, as `scipy.stats.ks_2samp(a, b)` (method `auto`):
 * `exact` when both samples have at most 10,000 values (the probability that a random lattice
 * path leaves the band |i/n1 - j/n2| < D, computed as a sampling-without-replacement walk in
 * O(n1·n2) time, O(n2) memory), otherwise `asymp`: `kstwo.sf(D, round(n1·n2/(n1+n2)))`.
 *
 * @example ksTwoSample(sortSample([1, 2, 3]), sortSample([2, 3, 4, 5])).pvalue
 */
export function ksTwoSample(a: Sorted, b: Sorted, method: 'auto' | 'exact' | 'asymp' = 'auto'): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ksTwoSample: both samples need at least one value');
  const g = gcd(n1, n2);
  const u1 = n2 / g; // one step of the first ECDF, in units of 1/lcm
  const u2 = n1 / g;
  const lcm = (n1 / g) * n2;
  // D in integer units of 1/lcm: exact, no rounding
  let i = 0, j = 0, diff = 0, h = 0;
  while (i < n1 && j < n2) {
    const x = a[i]! <= b[j]! ? a[i]! : b[j]!;
    while (i < n1 && a[i] === x) { i++; diff += u1; }
    while (j < n2 && b[j] === x) { j++; diff -= u2; }
    const ad = diff < 0 ? -diff : diff;
    if (ad > h) h = ad;
  }
  // the rest of one sample only moves the difference back towards 0
  const statistic = h / lcm;
  const mode = method === 'auto' ? (Math.max(n1, n2) <= KS_EXACT_MAX_N ? 'exact' : 'asymp') : method;
  if (mode === 'exact') return { statistic, pvalue: h === 0 ? 1 : Math.min(1, Math.max(0, 1 - ksInside(n1, n2, u1, u2, h))), method: 'exact' };
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = Math.round((m * n) / (m + n));
  return { statistic, pvalue: kolmogorovSf(en, statistic), method: 'asymp' };
}

/** Probability that a uniformly random monotone path from (0,0) to (n1,n2) stays strictly inside |i·u1 - j·u2| < h. */
function ksInside(n1: number, n2: number, u1: number, u2: number, h: number): number {
  // prob[j] at row i = P(the walk reaches (i, j) without leaving the band)
  let prev = new Float64Array(n2 + 1);
  let cur = new Float64Array(n2 + 1);
  prev[0] = 1;
  // row 0: only j steps
  for (let j = 1; j <= n2; j++) {
    if (j * u2 >= h) break;
    prev[j] = prev[j - 1]! * ((n2 - j + 1) / (n1 + n2 - j + 1));
  }
  for (let i = 1; i <= n1; i++) {
    cur.fill(0);
    // j with |i·u1 - j·u2| < h
    const lo = Math.max(0, Math.floor((i * u1 - h) / u2) + 1);
    const hi = Math.min(n2, Math.ceil((i * u1 + h) / u2) - 1);
    for (let j = lo; j <= hi; j++) {
      const rem = n1 + n2 - i - j + 1; // items left before the last step
      let p = prev[j]! * ((n1 - i + 1) / rem); // from (i-1, j) taking an a
      if (j > 0) p += cur[j - 1]! * ((n2 - j + 1) / rem); // from (i, j-1) taking a b
      cur[j] = p;
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n2]!;
}

/**
 * First Wasserstein distance between two samples (`scipy.stats.wasserstein_distance(a, b)`): the
 * area between the two ECDFs.
 */
export function wasserstein1(a: Sorted, b: Sorted): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0, j = 0, area = 0;
  let x = Math.min(a[0]!, b[0]!);
  while (i < n1 || j < n2) {
    const next = j >= n2 || (i < n1 && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    area += Math.abs(i / n1 - j / n2) * (next - x);
    x = next;
    while (i < n1 && a[i] === x) i++;
    while (j < n2 && b[j] === x) j++;
  }
  return area;
}

/** Population standard deviation (ddof 0), as `numpy.std`. */
export function stdDev(a: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < a.length; i++) mean += a[i]!;
  mean /= a.length;
  let ss = 0;
  for (let i = 0; i < a.length; i++) ss += (a[i]! - mean) ** 2;
  return Math.sqrt(ss / a.length);
}

/**
 * Wasserstein-1 divided by the reference's standard deviation, so that one threshold fits features
 * of any scale (0.1 = the distributions are a tenth of a standard deviation apart). A constant
 * reference has no spread: the raw distance is returned.
 */
export function wassersteinNormalised(ref: Sorted, cur: Sorted): number {
  const s = stdDev(ref);
  const w = wasserstein1(ref, cur);
  return s > 0 ? w / s : w;
}

/**
 * Inner bin edges at the reference's quantiles k/B (numpy's default linear interpolation), with
 * repeated edges removed; values below the first edge fall in bin 0, at or above the last in bin B-1.
 */
export function quantileEdges(ref: Sorted, bins: number): number[] {
  const edges: number[] = [];
  const n = ref.length;
  for (let k = 1; k < bins; k++) {
    const pos = ((n - 1) * k) / bins;
    const lo = Math.floor(pos);
    const frac = pos - lo;
    const v = lo + 1 < n ? ref[lo]! + (ref[lo + 1]! - ref[lo]!) * frac : ref[lo]!;
    if (edges.length === 0 || v > edges[edges.length - 1]!) edges.push(v);
  }
  return edges;
}

/** Counts per bin: bin k holds edges[k-1] ≤ x < edges[k] (`numpy.searchsorted(edges, x, side='right')`). */
export function binCounts(sorted: Sorted, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  let start = 0;
  for (let k = 0; k < edges.length; k++) {
    // first index with value >= edges[k]
    let lo = start, hi = sorted.length;
    const e = edges[k]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < e) lo = mid + 1;
      else hi = mid;
    }
    counts[k] = lo - start;
    start = lo;
  }
  counts[edges.length] = sorted.length - start;
  return counts;
}

/** Added to empty bins' proportions in PSI so that ln(0) never occurs. */
export const PSI_EPSILON = 1e-4;

/**
 * Population stability index Σ (c_k - r_k)·ln(c_k / r_k) over bin proportions, with proportions
 * below {@link PSI_EPSILON} raised to it.
 */
export function psi(refCounts: readonly number[], curCounts: readonly number[]): number {
  const nr = refCounts.reduce((s, x) => s + x, 0);
  const nc = curCounts.reduce((s, x) => s + x, 0);
  let out = 0;
  for (let k = 0; k < refCounts.length; k++) {
    const r = Math.max(refCounts[k]! / nr, PSI_EPSILON);
    const c = Math.max(curCounts[k]! / nc, PSI_EPSILON);
    out += (c - r) * Math.log(c / r);
  }
  return out;
}

/**
 * Jensen-Shannon **distance** (the square root of the divergence) with **base-2** logarithms, so it
 * lies in [0, 1]: `scipy.spatial.distance.jensenshannon(p, q, base=2)`. Inputs are counts or
 * weights; each is normalised to sum 1.
 */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  const sp = p.reduce((s, x) => s + x, 0);
  const sq = q.reduce((s, x) => s + x, 0);
  let div = 0;
  for (let k = 0; k < p.length; k++) {
    const a = p[k]! / sp;
    const b = q[k]! / sq;
    const m = (a + b) / 2;
    if (a > 0) div += a * Math.log(a / m);
    if (b > 0) div += b * Math.log(b / m);
  }
  return Math.sqrt(Math.max(0, div / 2) / Math.LN2);
}

export interface ChiSquareResult {
  readonly statistic: number;
  readonly pvalue: number;
  readonly dof: number;
}

/**
 * Pearson's chi-square test of homogeneity on the 2×K table (reference counts, current counts), as
 * `scipy.stats.chi2_contingency([ref, cur], correction=False)`. Categories empty in both are dropped.
 */
export function chiSquare(refCounts: readonly number[], curCounts: readonly number[]): ChiSquareResult {
  const cols: [number, number][] = [];
  for (let k = 0; k < refCounts.length; k++) if (refCounts[k]! + curCounts[k]! > 0) cols.push([refCounts[k]!, curCounts[k]!]);
  const nr = cols.reduce((s, c) => s + c[0], 0);
  const nc = cols.reduce((s, c) => s + c[1], 0);
  const n = nr + nc;
  let x2 = 0;
  for (const [r, c] of cols) {
    const t = r + c;
    const er = (t * nr) / n;
    const ec = (t * nc) / n;
    x2 += (r - er) ** 2 / er + (c - ec) ** 2 / ec;
  }
  const dof = cols.length - 1;
  return { statistic: x2, pvalue: dof > 0 ? chi2Sf(x2, dof) : 1, dof };
}
