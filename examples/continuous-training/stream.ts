/** A simulated stream of measured flowers: iris rows with noise; from `driftAfter` on, petals grow. */
import { readFileSync } from 'node:fs';

export interface StreamOptions { readonly seed: number; readonly driftAfter: number; readonly shift: number }

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function irisRows(path: string): string[][] {
  return readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
}

/** `count` rows for batch `batch` (0-based), each with a `time` column. */
export function batch(iris: readonly string[][], batchNo: number, count: number, at: (i: number) => string, o: StreamOptions): string[] {
  const u = rng(o.seed * 7919 + batchNo);
  const drift = batchNo >= o.driftAfter;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = iris[Math.floor(u() * iris.length)]!;
    const noise = () => (u() - 0.5) * 0.2;
    const v = r.slice(0, 4).map((x, k) => {
      let y = Number(x) + noise();
      if (drift && k >= 2) y += o.shift * (k === 2 ? 1 : 0.4);
      return Math.max(0.1, Math.round(y * 100) / 100).toFixed(2);
    });
    out.push([at(i), ...v, r[4]!].join(','));
  }
  return out;
}
