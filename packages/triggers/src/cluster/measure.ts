/**
 * A monitor's check inside the cluster gate step: the same engine and the same drift measurement as
 * the local daemon, with the cluster's sources. Metrics: a Prometheus instant query at the tick.
 * Drift: reference and current window read from S3 (CSV objects, or every `.csv` under a prefix);
 * the window snapshot and the drift report are written back to S3 and passed to the run as
 * `s3://` URIs. Configuration comes from the environment the gate template sets:
 *
 * - `SLUICE_PROMETHEUS_URL`: base URL of Prometheus;
 * - `SLUICE_S3`: JSON `{ endpoint, bucket, prefix }` (where relative data paths and reports live),
 *   with the keys in `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (from a Secret, never inlined).
 */
import type { Client } from 'minio';
import type { Observation, TriggerState } from '../engine.ts';
import type { DriftCheckIR, MetricCheckIR, MonitorSourceIR, TriggerIR } from '../ir.ts';
import { parseCsv } from '../local/csv.ts';
import { driftMeasurement, windowRows } from '../local/measure.ts';
import { listPrefix, s3Client, s3ErrorText } from '../local/s3.ts';
import { columns } from '../local/csv.ts';
import { prepareReference } from '../stats/drift.ts';
import { queryInstant } from './prometheus.ts';

export interface ClusterStore { readonly endpoint: string; readonly bucket: string; readonly prefix: string; readonly region?: string }

type Measurement = Extract<Observation, { kind: 'measurement' }>;

/** The S3 store the gate step was given (`SLUICE_S3`), or undefined. */
export function clusterStore(env: NodeJS.ProcessEnv): ClusterStore | undefined {
  if (!env.SLUICE_S3) return undefined;
  const s = JSON.parse(env.SLUICE_S3) as Partial<ClusterStore>;
  if (typeof s.endpoint !== 'string' || typeof s.bucket !== 'string') throw new Error('SLUICE_S3 must be JSON with endpoint and bucket');
  return { endpoint: s.endpoint, bucket: s.bucket, prefix: s.prefix ?? '', ...(s.region ? { region: s.region } : {}) };
}

/** Where a drift check's path lives on the cluster: an `s3://` URI as given, a relative path under the store's `data/`. */
export function clusterUri(path: string, store: Pick<ClusterStore, 'bucket' | 'prefix'>): string | undefined {
  if (path.startsWith('s3://')) return path;
  if (path.startsWith('/') || /^[a-z]+:\/\//.test(path)) return undefined;
  return `s3://${store.bucket}/${store.prefix}data/${path.replace(/^\.\//, '')}`;
}

function splitUri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new Error(`${uri} is not an s3:// URI`);
  return { bucket: m[1]!, key: m[2]! };
}

async function readText(client: Client, bucket: string, key: string): Promise<string> {
  const stream = await client.getObject(bucket, key);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** CSV from an object, or from every `.csv` object under the prefix (key order), as one table. */
async function readTable(client: Client, uri: string) {
  const { bucket, key } = splitUri(uri);
  try {
    if (!key.endsWith('/')) return parseCsv([{ name: uri, text: await readText(client, bucket, key) }]);
  } catch (e) {
    if ((e as { code?: string }).code !== 'NoSuchKey') throw e;
  }
  const prefix = key.endsWith('/') ? key : `${key}/`;
  const objs = (await listPrefix(client, bucket, prefix)).filter((o) => o.key.endsWith('.csv'));
  if (objs.length === 0) return undefined;
  return parseCsv(await Promise.all(objs.map(async (o) => ({ name: `s3://${bucket}/${o.key}`, text: await readText(client, bucket, o.key) }))));
}

async function metric(c: MetricCheckIR, tick: number, env: NodeJS.ProcessEnv, fetchImpl?: typeof fetch): Promise<Measurement> {
  const base = { kind: 'measurement' as const, scheduledTime: tick, reference: `prometheus:${c.query ?? ''}` };
  if (!c.query) return { ...base, result: { kind: 'unavailable', reason: `on the cluster a metric monitor reads Prometheus: give monitor.metric({ query }) for ${c.pipeline}.${c.output}` } };
  const url = env.SLUICE_PROMETHEUS_URL;
  if (!url) return { ...base, result: { kind: 'unavailable', reason: 'SLUICE_PROMETHEUS_URL is not set in the gate step (compile with --prometheus <url>)' } };
  const r = await queryInstant(url, c.query, tick, fetchImpl ? { fetch: fetchImpl } : {});
  if (r.kind === 'unavailable') return { ...base, result: r };
  return { ...base, result: { kind: 'value', value: r.value, n: 1 }, evidence: { statistic: c.query, series: r.series } };
}

async function drift(ir: TriggerIR, c: DriftCheckIR, state: TriggerState, tick: number, env: NodeJS.ProcessEnv): Promise<Measurement> {
  const unavailable = (reference: string, reason: string): Measurement => ({ kind: 'measurement', scheduledTime: tick, reference, result: { kind: 'unavailable', reason } });
  const store = clusterStore(env);
  if (!store) return unavailable('none', 'SLUICE_S3 is not set in the gate step (compile with --s3-endpoint and --s3-bucket)');
  // lineage on the cluster: the reference parameter of the last run this trigger fired (the gate does not see whether it succeeded)
  const refPath = c.reference.kind === 'path' ? c.reference.path : state.lineage ?? c.reference.fallback;
  if (!refPath) return unavailable('none', `no reference: ${ir.name} has fired no run yet and the lineage reference has no fallback`);
  const refUri = clusterUri(refPath, store);
  const curUri = clusterUri(c.current.path, store);
  if (!refUri || !curUri) return unavailable('none', `${!refUri ? refPath : c.current.path}: on the cluster a drift check reads s3:// URIs or paths relative to the store's data/`);
  let client: Client;
  try {
    client = await s3Client({ kind: 's3', bucket: store.bucket, prefix: '', endpoint: store.endpoint, ...(store.region ? { region: store.region } : {}), credentials: { accessKeyEnv: 'AWS_ACCESS_KEY_ID', secretKeyEnv: 'AWS_SECRET_ACCESS_KEY', secret: '' }, pollMs: 0 }, env);
  } catch (e) {
    return unavailable(refUri, s3ErrorText(e));
  }
  let refTable;
  let curTable;
  try {
    [refTable, curTable] = await Promise.all([readTable(client, refUri), readTable(client, curUri)]);
  } catch (e) {
    return unavailable(refUri, `reading ${refUri} or ${curUri}: ${s3ErrorText(e)}`);
  }
  if (!refTable) return unavailable(refUri, `reference ${refUri} does not exist`);
  if (!curTable) return unavailable(refUri, `no current data at ${curUri}`);
  let m;
  try {
    m = driftMeasurement(ir, tick, refUri, prepareReference(c.spec, columns(refTable, c.spec.features)), windowRows(curTable, c.current.window, tick));
  } catch (e) {
    return unavailable(refUri, `check failed: ${(e as Error).message}`);
  }
  if (m.observation.result.kind !== 'value') return m.observation;
  const dir = `${store.prefix}triggers/${ir.name}/${new Date(tick).toISOString().replace(/[:.]/g, '')}`;
  await client.putObject(store.bucket, `${dir}/window.csv`, Buffer.from(m.window), undefined, { 'Content-Type': 'text/csv' });
  await client.putObject(store.bucket, `${dir}/drift-report.html`, Buffer.from(m.html), undefined, { 'Content-Type': 'text/html' });
  return { ...m.observation, data: `s3://${store.bucket}/${dir}/window.csv`, report: `s3://${store.bucket}/${dir}/drift-report.html` };
}

/** The measurement the engine asked for at `tick`, read from the cluster's sources. Never throws: a failure is "unavailable" with its reason. */
export async function measureOnCluster(ir: TriggerIR, state: TriggerState, tick: number, env: NodeJS.ProcessEnv = process.env, o: { fetch?: typeof fetch } = {}): Promise<Measurement> {
  const c = (ir.source as MonitorSourceIR).check;
  try {
    return c.kind === 'metric' ? await metric(c, tick, env, o.fetch) : await drift(ir, c, state, tick, env);
  } catch (e) {
    return { kind: 'measurement', scheduledTime: tick, reference: 'none', result: { kind: 'unavailable', reason: `check failed: ${s3ErrorText(e)}` } };
  }
}
