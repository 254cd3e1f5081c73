/**
 * Worker of bench/triggers.bench.ts (one fresh process per measurement): drift statistics of F
 * features, reference vs current, read from column-major Float64 files. Prints one JSON line.
 *   node --import tsx bench/triggers-drift.ts <dir> <features> <refRows> <curRows> <same|full>
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { binCounts, jensenShannon, ksTwoSample, quantileEdges, sortSample, wasserstein1 } from '../packages/triggers/src/stats/two-sample.ts';
import { evaluateDrift, prepareReference, type DriftSpec } from '../packages/triggers/src/stats/drift.ts';

const [dir, fs, rs, cs, mode] = process.argv.slice(2) as [string, string, string, string, string];
const F = Number(fs), R = Number(rs), C = Number(cs);
const load = (name: string, n: number) => {
  const b = readFileSync(join(dir, name));
  const all = new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
  return Array.from({ length: F }, (_, f) => all.subarray(f * n, (f + 1) * n));
};
const ref = load('ref.bin', R);
const cur = load('cur.bin', C);
const rssLoaded = process.memoryUsage().rss;
const t0 = process.hrtime.bigint();
const c0 = process.cpuUsage();
let check = 0;
if (mode === 'same') {
  // the work scipy does per feature: ks_2samp, wasserstein_distance, jensenshannon on 10 quantile bins
  for (let f = 0; f < F; f++) {
    const a = sortSample(ref[f]!), b = sortSample(cur[f]!);
    const ks = ksTwoSample(a, b);
    const w = wasserstein1(a, b);
    const edges = quantileEdges(a, 10);
    const js = jensenShannon(binCounts(a, edges), binCounts(b, edges));
    check += ks.statistic + ks.pvalue + w + js;
  }
} else {
  const features = Array.from({ length: F }, (_, f) => ({ name: `f${f}`, kind: 'numeric' as const }));
  for (const statistic of ['psi', 'ks'] as const) {
    const spec: DriftSpec = { statistic, threshold: 0.1, alpha: 0.05, correction: 'bonferroni', bins: 10, features };
    const p = prepareReference(spec, Object.fromEntries(ref.map((c, f) => [`f${f}`, c])));
    const rep = evaluateDrift(spec, p, Object.fromEntries(cur.map((c, f) => [`f${f}`, c])));
    check += rep.kind === 'evaluated' ? rep.value + rep.drifted.length : 0;
  }
}
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const cu = process.cpuUsage(c0);
const cpuMs = (cu.user + cu.system) / 1000;
process.stdout.write(JSON.stringify({ impl: mode === 'same' ? 'sluice' : 'sluice-full', ms, cpuMs, peakRssMiB: process.resourceUsage().maxRSS / 1024, loadedRssMiB: rssLoaded / 2 ** 20, check }) + '\n');
