/**
 * Local measurements for monitor triggers: drift of a CSV window against the reference (the
 * training data of the target's last successful run, through lineage), or a metric from the run
 * store. Returns the engine's `measurement` observation and a drift report for the fired run.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { JsonValue } from '@sluice/sdk';
import type { Observation } from '../engine.ts';
import type { DriftCheckIR, MonitorSourceIR, TriggerIR } from '../ir.ts';
import { evaluateDrift, formatDriftReport, prepareReference, type DriftReport, type PreparedReference } from '../stats/drift.ts';
import { columns, readCsv, type Table } from './csv.ts';
import { renderDriftReportHtml } from '../stats/report.ts';
import type { TriggerStore } from './store.ts';

export interface Measured {
  readonly observation: Extract<Observation, { kind: 'measurement' }>;
  readonly report?: DriftReport;
  readonly text?: string;
}

const refCache = new Map<string, { key: string; ref: PreparedReference }>();

/** Rows of the current window as of `at`: the newest `window` rows whose `time` column (if any) is ≤ at. */
export function windowRows(t: Table, window: number, at: number | undefined) {
  const ti = t.header.indexOf('time');
  const rows = at === undefined || ti < 0 ? t.rows : t.rows.filter((r) => Date.parse(r[ti] ?? '') <= at);
  return { table: t, rows: rows.slice(Math.max(0, rows.length - window)) };
}

/** `snapshotDir`: where the measured window is written as CSV (without its `time` column) for the fired run. */
export function measureMonitor(ir: TriggerIR, store: TriggerStore, tick: number, baseDir: string, asOf?: number, snapshotDir?: string): Measured {
  const s = ir.source as MonitorSourceIR;
  const c = s.check;
  const base = { kind: 'measurement' as const, scheduledTime: tick };
  if (c.kind === 'metric') {
    const run = store.lastSucceeded(c.pipeline, asOf);
    if (!run) return { observation: { ...base, reference: 'none', result: { kind: 'unavailable', reason: `no successful run of ${c.pipeline} yet` } } };
    const outputs = JSON.parse(run.outputs ?? '{}') as Record<string, JsonValue>;
    const v = outputs[c.output];
    if (typeof v === 'number') return { observation: { ...base, reference: run.id, result: { kind: 'value', value: v, n: 1 }, evidence: { statistic: c.output, run: run.id } } };
    // not an output: a metric the run logged (its last step)
    const m = store.lastMetric(run.id, c.output);
    if (m) return { observation: { ...base, reference: run.id, result: { kind: 'value', value: m.value, n: 1 }, evidence: { statistic: c.output, run: run.id, metric: `${m.task}/${c.output.slice(c.output.lastIndexOf('/') + 1)}`, step: m.step } } };
    return { observation: { ...base, reference: run.id, result: { kind: 'unavailable', reason: `run ${run.id} has no numeric output or logged metric "${c.output}"` } } };
  }
  let refPath: string;
  let refId: string;
  if (c.reference.kind === 'path') {
    refPath = resolve(baseDir, c.reference.path);
    refId = `path:${c.reference.path}`;
  } else {
    const run = store.lastSucceeded(ir.target.pipeline, asOf);
    const params = run ? (JSON.parse(run.params) as Record<string, JsonValue>) : {};
    const p = params[c.reference.param];
    const path = typeof p === 'string' ? p : typeof p === 'object' && p !== null && !Array.isArray(p) && typeof (p as { metadata?: { source?: unknown } }).metadata?.source === 'string' ? (p as { metadata: { source: string } }).metadata.source : undefined;
    if (run && path) { refPath = resolve(baseDir, path); refId = run.id; }
    else if (c.reference.fallback) { refPath = resolve(baseDir, c.reference.fallback); refId = `path:${c.reference.fallback}`; }
    else return { observation: { ...base, reference: 'none', result: { kind: 'unavailable', reason: `no reference: ${ir.target.pipeline} has no successful run with parameter "${c.reference.param}" yet` } } };
  }
  const curPath = resolve(baseDir, c.current.path);
  if (!existsSync(refPath)) return { observation: { ...base, reference: refId, result: { kind: 'unavailable', reason: `reference ${refPath} does not exist` } } };
  if (!existsSync(curPath)) return { observation: { ...base, reference: refId, result: { kind: 'unavailable', reason: `no current data at ${curPath}` } } };
  const key = `${refPath}:${statSync(refPath).mtimeMs}:${JSON.stringify(c.spec)}`;
  let ref = refCache.get(refPath)?.key === key ? refCache.get(refPath)!.ref : undefined;
  if (!ref) {
    ref = prepareReference(c.spec, columns(readCsv(refPath), c.spec.features));
    refCache.set(refPath, { key, ref });
  }
  const w = windowRows(readCsv(curPath), c.current.window, asOf);
  const m = driftMeasurement(ir, tick, refId, ref, w);
  if (!snapshotDir || m.observation.result.kind !== 'value') return m;
  mkdirSync(snapshotDir, { recursive: true });
  const stem = join(snapshotDir, `${ir.name}-${new Date(tick).toISOString().replace(/[:.]/g, '')}`);
  writeFileSync(`${stem}.csv`, m.window);
  writeFileSync(`${stem}.html`, m.html);
  return { ...m, observation: { ...m.observation, data: `${stem}.csv`, report: `${stem}.html` } };
}

/** The drift check on a prepared reference and a window: the observation, the report as text and as HTML, and the window as CSV (without `time`). Shared by the daemon and the cluster gate. */
export function driftMeasurement(ir: TriggerIR, tick: number, refId: string, ref: PreparedReference, w: { readonly table: Table; readonly rows: readonly (readonly string[])[] }): Measured & { readonly html: string; readonly window: string } {
  const c = (ir.source as MonitorSourceIR).check as DriftCheckIR;
  const base = { kind: 'measurement' as const, scheduledTime: tick };
  const report = evaluateDrift(c.spec, ref, columns(w.table, c.spec.features, w.rows));
  const html = renderDriftReportHtml(report, { trigger: ir.name, scheduledTime: new Date(tick).toISOString(), reference: refId, spec: c.spec });
  const keep = w.table.header.map((h, i) => [h, i] as const).filter(([h]) => h !== 'time');
  const window = [keep.map(([h]) => h).join(','), ...w.rows.map((r) => keep.map(([, i]) => r[i] ?? '').join(','))].join('\n') + '\n';
  const evidence: { [k: string]: JsonValue } = { statistic: c.spec.statistic };
  if (report.kind === 'insufficient') return { observation: { ...base, reference: refId, result: { kind: 'insufficient', n: report.n, need: report.need }, evidence }, report, text: formatDriftReport(report), html, window };
  evidence.features = report.features.map((f) => ({ feature: f.feature, value: round(f.value), p: f.p, pAdjusted: f.pAdjusted, n: f.nCurrent, drifted: f.drifted }));
  return { observation: { ...base, reference: refId, result: { kind: 'value', value: round(report.value), n: report.n, drifted: report.drifted }, evidence }, report, text: formatDriftReport(report), html, window };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
