/**
 * The drift report a triggered run carries: one self-contained HTML page (no script, no external
 * resource), per feature the statistic, its p-value before and after the correction, the sample
 * sizes and the bins, with a small SVG bar chart of reference against current proportions per bin.
 * Deterministic: the same report and context give the same bytes.
 */
import type { DriftReport, DriftSpec, FeatureDrift } from './drift.ts';

export interface ReportContext {
  readonly trigger: string;
  /** The tick the check was evaluated for (ISO time). */
  readonly scheduledTime: string;
  /** What the current window was compared with (a run id, `path:<file>`, or an S3 URI). */
  readonly reference: string;
  readonly spec: DriftSpec;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 1e-3 || x === 0 ? x.toPrecision(4) : x.toExponential(2)) : String(x));
const pval = (p: number) => (p >= 1e-4 ? p.toFixed(4) : p.toExponential(2));

function binLabels(f: FeatureDrift): string[] {
  const b = f.bins!;
  if (b.categories) return [...b.categories];
  const e = b.edges ?? [];
  if (e.length === 0) return b.reference.map(() => 'all');
  // edges are the inner cut points: B bins have B-1 edges
  return b.reference.map((_, i) => (i === 0 ? `< ${num(e[0]!)}` : i === b.reference.length - 1 ? `≥ ${num(e[i - 1]!)}` : `${num(e[i - 1]!)}–${num(e[i]!)}`));
}

/** Grouped bars: reference (grey) and current (blue) share of rows in each bin. */
function barChart(f: FeatureDrift): string {
  const b = f.bins!;
  const rt = b.reference.reduce((a, x) => a + x, 0) || 1;
  const ct = b.current.reduce((a, x) => a + x, 0) || 1;
  const rp = b.reference.map((x) => x / rt);
  const cp = b.current.map((x) => x / ct);
  const max = Math.max(...rp, ...cp, 1e-9);
  const n = rp.length;
  const bw = 14;
  const gap = 8;
  const h = 80;
  const w = n * (2 * bw + gap) + gap;
  const labels = binLabels(f);
  const bars = rp.map((r, i) => {
    const x = gap + i * (2 * bw + gap);
    const rh = Math.round((r / max) * h * 10) / 10;
    const ch = Math.round((cp[i]! / max) * h * 10) / 10;
    return `<g><title>${esc(labels[i]!)}: reference ${(r * 100).toFixed(1)}%, current ${(cp[i]! * 100).toFixed(1)}%</title>`
      + `<rect x="${x}" y="${(h - rh).toFixed(1)}" width="${bw}" height="${rh.toFixed(1)}" fill="#9aa0a6"/>`
      + `<rect x="${x + bw}" y="${(h - ch).toFixed(1)}" width="${bw}" height="${ch.toFixed(1)}" fill="#1a73e8"/></g>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h + 2}" viewBox="0 0 ${w} ${h + 2}" role="img" aria-label="${esc(f.feature)}: share of rows per bin, reference and current">${bars}<line x1="0" y1="${h + 1}" x2="${w}" y2="${h + 1}" stroke="#5f6368"/></svg>`;
}

/**
 * The drift report as an HTML page.
 *
 * @example writeFileSync('drift-report.html', renderDriftReportHtml(report, { trigger: 'iris-drift', scheduledTime, reference, spec }))
 */
export function renderDriftReportHtml(r: DriftReport, c: ReportContext): string {
  const s = c.spec;
  const head = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Drift report: ${esc(c.trigger)} at ${esc(c.scheduledTime)}</title>`
    + '<style>body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#202124}table{border-collapse:collapse}td,th{padding:.25rem .6rem;border-bottom:1px solid #dadce0;text-align:right}th:first-child,td:first-child{text-align:left}.yes{color:#c5221f;font-weight:600}.key span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}</style></head><body>\n';
  const meta = `<h1>Drift report: ${esc(c.trigger)}</h1>\n<p>Evaluated for ${esc(c.scheduledTime)} against reference <code>${esc(c.reference)}</code>. `
    + `Statistic ${esc(s.statistic)}, threshold ${num(s.threshold)}, α = ${num(s.alpha)} with ${esc(s.correction)} correction across ${s.features.length} feature${s.features.length === 1 ? '' : 's'}; `
    + 'a feature drifts when its statistic reaches the threshold and its corrected p is below α.</p>\n';
  if (r.kind === 'insufficient') return `${head}${meta}<p><strong>Not evaluated:</strong> ${esc(r.reason)}.</p>\n</body></html>\n`;
  const rows = r.features.map((f) => `<tr><td>${esc(f.feature)}</td><td>${esc(f.statistic)}</td><td>${num(f.value)}</td><td>${pval(f.p)}</td><td>${pval(f.pAdjusted)}</td><td>${esc(f.test)}</td><td>${f.nReference}</td><td>${f.nCurrent}</td><td>${f.bins ? f.bins.reference.length : '-'}</td><td class="${f.drifted ? 'yes' : 'no'}">${f.drifted ? 'yes' : 'no'}</td></tr>`).join('\n');
  const summary = `<p><strong>${r.drifted.length ? `Drifted: ${esc(r.drifted.join(', '))}` : 'No feature drifted'}</strong> (largest significant statistic ${num(r.value)}; window of ${r.n} rows, minimum ${r.need}).</p>\n`;
  const table = `<table><thead><tr><th>feature</th><th>statistic</th><th>value</th><th>p</th><th>p (adj)</th><th>test</th><th>n ref</th><th>n cur</th><th>bins</th><th>drifted</th></tr></thead><tbody>\n${rows}\n</tbody></table>\n`;
  const charts = r.features.filter((f) => f.bins).map((f) => `<h3>${esc(f.feature)}</h3>\n${barChart(f)}\n<table><tr><th>bin</th>${binLabels(f).map((l) => `<td>${esc(l)}</td>`).join('')}</tr><tr><th>reference</th>${f.bins!.reference.map((x) => `<td>${x}</td>`).join('')}</tr><tr><th>current</th>${f.bins!.current.map((x) => `<td>${x}</td>`).join('')}</tr></table>`).join('\n');
  const key = charts ? `<h2>Bins</h2>\n<p class="key">Share of rows per bin:<span style="background:#9aa0a6"></span>reference<span style="background:#1a73e8"></span>current</p>\n${charts}\n` : '';
  return `${head}${meta}${summary}${table}${key}</body></html>\n`;
}
