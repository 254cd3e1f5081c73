/**
 * Special functions the drift statistics need: the chi-square distribution (regularised incomplete
 * gamma) and the two-sided one-sample Kolmogorov distribution `kstwo` that scipy's `ks_2samp` uses
 * for its asymptotic p-value. Internal: not re-exported.
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error ~1e-15). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = LANCZOS[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised lower incomplete gamma P(a, x) and its complement Q(a, x), each computed where it is accurate. */
function gammaPQ(a: number, x: number): { p: number; q: number } {
  if (x <= 0) return { p: 0, q: 1 };
  const lead = -x + a * Math.log(x) - lnGamma(a);
  if (x < a + 1) {
    // series
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    const p = Math.min(1, sum * Math.exp(lead));
    return { p, q: 1 - p };
  }
  // continued fraction (modified Lentz)
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  const q = Math.min(1, Math.exp(lead) * h);
  return { p: 1 - q, q };
}

/** P(X > x) for X ~ χ²(k). */
export function chi2Sf(x: number, k: number): number {
  return gammaPQ(k / 2, x / 2).q;
}

/** P(X ≤ x) for X ~ χ²(k). */
export function chi2Cdf(x: number, k: number): number {
  return gammaPQ(k / 2, x / 2).p;
}

/** The x with P(X ≤ x) = p for X ~ χ²(k) (bisection on the CDF after a Wilson-Hilferty start; 1e-12 relative). */
export function chi2Quantile(p: number, k: number): number {
  if (p <= 0) return 0;
  if (p >= 1) return Infinity;
  let lo = 0;
  let hi = Math.max(1, k);
  while (chi2Cdf(hi, k) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (chi2Cdf(mid, k) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// ---------------------------------------------------------------------------------------------
// Kolmogorov distribution of D_n (two-sided, one sample), as scipy.stats.kstwo.

/** P(D_n ≤ d), Durbin's matrix (Marsaglia, Tsang and Wang 2003): exact, O(m³ log n) with m = 2⌈nd⌉-1. */
function kolmogorovDurbin(n: number, d: number): number {
  const nd = n * d;
  if (nd <= 0.5) return 0;
  if (d >= 1) return 1;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const H = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  v[m - 1] = (1 + Math.max(2 * h - 1, 0) ** m - 2 * h ** m) * fac;
  for (let i = 1; i < m; i++) for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1]!;
  for (let r = 0; r < m; r++) H[r * m] = v[r]!;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c]!;
  const mul = (A: Float64Array, B: Float64Array) => {
    const C = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let l = 0; l < m; l++) {
      const a = A[i * m + l]!;
      if (a === 0) continue;
      for (let j = 0; j < m; j++) C[i * m + j]! += a * B[l * m + j]!;
    }
    return C;
  };
  let P = new Float64Array(m * m);
  for (let i = 0; i < m; i++) P[i * m + i] = 1;
  let Hp: Float64Array = H;
  let expP = 0;
  let expH = 0;
  for (let nn = n; nn > 0; nn = Math.floor(nn / 2)) {
    if (nn % 2) { P = mul(P, Hp); expP += expH; }
    Hp = mul(Hp, Hp);
    expH *= 2;
    if (Math.abs(Hp[(k - 1) * m + k - 1]!) > 2 ** 128) {
      for (let i = 0; i < Hp.length; i++) Hp[i]! /= 2 ** 128;
      expH += 128;
    }
  }
  let p = P[(k - 1) * m + k - 1]!;
  let e = expP;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < 2 ** -128) { p *= 2 ** 128; e -= 128; }
  }
  return Math.min(1, Math.max(0, p * 2 ** e));
}

/** Pelz-Good approximation of P(D_n ≤ x) (error O(1/n²)), scipy's choice for large n. */
function kolmogorovPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const PI2 = Math.PI ** 2;
  const PI4 = PI2 ** 2;
  const PI6 = PI2 ** 3;
  const SQRT2PI = Math.sqrt(2 * Math.PI);
  const z = Math.sqrt(n) * x;
  const z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -745) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2, k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4, k2b = ((2 * z4 - 5 * z2) * PI2) / 4, k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64, k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16, k3b = (PI2 * (135 * z4 - 96 * z6)) / 4, k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k >= 1; k--) {
    const m = 2 * k - 1;
    const m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
    const qp = q ** (8 * k);
    const c = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i]! * qp + c[i]!;
  }
  const div = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i]! * q * SQRT2PI) / div[i]!;
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const s3z = Math.sqrt(3) * z;
  for (let k = maxk; k >= 1; k--) {
    const qk = q ** (k * k);
    k2extra += k * k * qk;
    k3extra += (s3z + Math.PI * k) * (s3z - Math.PI * k) * k * k * qk;
  }
  K[2] = K[2]! + (k2extra * PI2 * SQRT2PI) / (-36 * z3);
  K[3] = K[3]! + (k3extra * PI2 * SQRT2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i]! / n ** (i / 2);
  return sum;
}

/**
 * P(D_n+ ≥ x), the one-sided Smirnov tail, by the Birnbaum-Tingey sum
 * x·Σ_{j ≤ n(1-x)} C(n,j)·(1-x-j/n)^(n-j)·(x+j/n)^(j-1), in logarithms (terms are positive: no cancellation).
 */
export function smirnovSf(n: number, x: number): number {
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  const jmax = Math.floor(n * (1 - x) + 1e-12);
  const lnFactN = lnGamma(n + 1);
  let max = -Infinity;
  const logs: number[] = [];
  for (let j = 0; j <= jmax; j++) {
    const a = 1 - x - j / n;
    if (a <= 0) break;
    const t = lnFactN - lnGamma(j + 1) - lnGamma(n - j + 1) + (n - j) * Math.log(a) + (j - 1) * Math.log(x + j / n);
    logs.push(t);
    if (t > max) max = t;
  }
  let sum = 0;
  for (const t of logs) sum += Math.exp(t - max);
  return Math.min(1, x * Math.exp(max) * sum);
}

/**
 * P(D_n ≥ x) for the two-sided one-sample Kolmogorov statistic (scipy.stats.kstwo.sf), following
 * Simard and L'Ecuyer's choice of method: exact at the ends (Ruben-Gambino), Durbin's matrix for
 * small n·x², Pelz-Good otherwise, and twice the one-sided Smirnov tail far out (n·x² ≥ 2.2 for
 * n > 140, where 1 - CDF would lose digits); for n ≤ 140 Durbin's exact matrix throughout.
 */
export function kolmogorovSf(n: number, x: number): number {
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let logp = 0;
    for (let i = 1; i <= n; i++) logp += Math.log((i / n) * (2 * t - 1));
    return 1 - Math.exp(logp);
  }
  if (t >= n - 1) return Math.min(1, 2 * (1 - x) ** n);
  const nx2 = t * x;
  if (nx2 >= 370) return 0;
  if (x >= 0.5 || (n > 140 && nx2 >= 2.2)) return Math.min(1, 2 * smirnovSf(n, x));
  if (n <= 140 || (n <= 100_000 && n * x ** 1.5 <= 1.4)) return Math.min(1, Math.max(0, 1 - kolmogorovDurbin(n, x)));
  return Math.min(1, Math.max(0, 1 - kolmogorovPelzGood(n, x)));
}
