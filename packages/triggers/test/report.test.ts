// The drift report: a deterministic HTML page (per feature statistic, p, n, bins and a bar chart),
// attached to the run the trigger starts (recorded in trigger_reports, and one of the run's own
// artifact inputs when the mapping gives it to an artifact parameter).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline } from '@sluice/runner';
import { StateStore } from '../../runner/src/store/state.ts';
import { monitor, trigger } from '../src/define.ts';
import { Daemon } from '../src/local/daemon.ts';
import { evaluateDrift, prepareReference, type DriftSpec } from '../src/stats/drift.ts';
import { renderDriftReportHtml } from '../src/stats/report.ts';
import { retrain } from './helpers.ts';

const root = resolve(import.meta.dirname, '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'sluice-triggers-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const deps = { runPipeline, ensureStore: (db: string) => StateStore.open(db).close() };

/** Deterministic pseudo-normal values (a linear congruential generator and Box-Muller). */
function values(n: number, seed: number, shift = 0): number[] {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return Array.from({ length: n }, () => Math.round((Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) + shift) * 1000) / 1000);
}

const spec: DriftSpec = { statistic: 'psi', threshold: 0.2, alpha: 0.05, correction: 'bonferroni', bins: 5, features: [{ name: 'x', kind: 'numeric' }, { name: 'kind', kind: 'categorical' }] };

describe('drift report', () => {
  it('HTML with a row per feature (statistic, p, p adjusted, n, bins), a bar chart per binned feature; the same bytes every time', () => {
    const ref = prepareReference(spec, { x: values(1000, 1), kind: Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? 'a' : 'b')) });
    const report = evaluateDrift(spec, ref, { x: values(400, 2, 1), kind: Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? 'a' : 'b')) });
    expect(report.kind).toBe('evaluated');
    const ctx = { trigger: 'x-drift', scheduledTime: '2026-01-01T00:05:00.000Z', reference: 'path:ref.csv', spec };
    const html = renderDriftReportHtml(report, ctx);
    expect(renderDriftReportHtml(report, ctx)).toBe(html);
    if (report.kind !== 'evaluated') return;
    const [x, kind] = report.features;
    expect(html).toMatch(/^<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Drift report: x-drift at 2026-01-01T00:05:00.000Z<\/title>/);
    expect(html).toContain(`<tr><td>x</td><td>psi</td><td>${x!.value.toPrecision(4)}</td><td>${x!.p >= 1e-4 ? x!.p.toFixed(4) : x!.p.toExponential(2)}</td>`);
    expect(html).toContain(`<td>chi2</td><td>1000</td><td>400</td><td>5</td><td class="yes">yes</td></tr>`);
    expect(kind!.value).toBeLessThan(1e-3);
    expect(html).toContain(`<tr><td>kind</td><td>psi-categorical</td><td>${kind!.value.toExponential(2)}</td>`);
    expect(html).toContain('<td>chi2</td><td>1000</td><td>400</td><td>2</td><td class="no">no</td></tr>');
    expect(html).toContain('<strong>Drifted: x</strong>');
    // one chart per binned feature, one pair of bars per bin, and the counts beside it
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html.match(/<rect /g)).toHaveLength(2 * (5 + 2));
    expect(html).toContain(`<tr><th>current</th>${x!.bins!.current.map((c) => `<td>${c}</td>`).join('')}</tr>`);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    const few = evaluateDrift(spec, ref, { x: values(20, 3), kind: Array.from({ length: 20 }, () => 'a') });
    expect(renderDriftReportHtml(few, ctx)).toContain(`<p><strong>Not evaluated:</strong> insufficient samples (20, need ${few.kind === 'insufficient' ? few.need : 0}).</p>`);
  });

  it("is attached to the run the trigger starts: recorded with its hash, and one of the run's artifact inputs through the mapping", async () => {
    const dir = join(tmp, 'daemon');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ref.csv'), ['x,kind', ...values(600, 1).map((v, i) => `${v},${i % 3 === 0 ? 'a' : 'b'}`)].join('\n') + '\n');
    writeFileSync(join(dir, 'cur.csv'), ['x,kind', ...values(400, 5, 1.5).map((v, i) => `${v},${i % 3 === 0 ? 'a' : 'b'}`)].join('\n') + '\n');
    const t = trigger({
      name: 'x-drift', target: retrain, params: (e) => ({ data: e.data, report: e.report }),
      source: monitor.drift({ cron: '*/5 * * * *', timezone: 'Etc/UTC', features: ['x', { name: 'kind', kind: 'categorical' }], bins: 5, threshold: 0.2, reference: { path: 'ref.csv' }, current: { path: 'cur.csv', window: 400 } }),
    });
    const storeDir = join(dir, '.sluice');
    let clock = Date.parse('2026-01-01T00:04:00Z');
    const d = new Daemon([t], deps, { storeDir, baseDir: dir, now: () => clock });
    await d.start();
    let runId = '';
    try {
      await d.tick();
      clock = Date.parse('2026-01-01T00:05:01Z');
      await d.tick();
      await d.drain();
      const fire = d.store.decisions('x-drift').find((x) => x.kind === 'fire');
      expect(fire, JSON.stringify(d.store.decisions('x-drift'))).toBeDefined();
      runId = fire!.run_id!;
      const event = JSON.parse(fire!.event!) as { report: string; data: string };
      expect(event.report).toMatch(/triggers\/windows\/x-drift-2026-01-01T000500000Z\.html$/);
      const html = readFileSync(event.report);
      expect(html.toString()).toContain('<title>Drift report: x-drift at 2026-01-01T00:05:00.000Z</title>');
      const sha = createHash('sha256').update(html).digest('hex');
      expect(d.store.reports(runId).map((r) => [r.name, r.trigger, r.path, r.sha256, r.bytes, r.media_type])).toEqual([['drift-report', 'x-drift', event.report, sha, html.length, 'text/html']]);
    } finally {
      await d.close();
    }
    // the run has it as an input artifact, in its own store, with the same bytes
    const show = spawnSync(process.execPath, [join(root, 'packages/runner/bin/sluice.mjs'), 'show', runId, '--store', storeDir, '--json'], { cwd: root, encoding: 'utf8', env: { ...process.env, CI: '' } });
    expect(show.status, show.stderr).toBe(0);
    const view = JSON.parse(show.stdout) as { status: string; params: { report: { kind: string; hash: string; path: string; type: string } }; outputs: { bytes: number } };
    expect(view.status).toBe('succeeded');
    expect(view.params.report).toMatchObject({ kind: 'artifact', type: 'Artifact' });
    const stored = readFileSync(view.params.report.path);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(view.params.report.hash.replace(/^sha256:/, ''));
    expect(stored.toString()).toContain('<title>Drift report: x-drift at 2026-01-01T00:05:00.000Z</title>');
    expect(view.outputs.bytes).toBe(stored.length);
    expect(existsSync(join(storeDir, 'triggers', 'reports', runId, 'drift-report.txt'))).toBe(true);
  });
});
