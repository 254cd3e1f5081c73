/**
 * A metric monitor's value on the cluster: one Prometheus instant query (`GET /api/v1/query`, the
 * HTTP API's documented envelope `{status, data: {resultType, result}}` or `{status: 'error',
 * errorType, error}`). A scalar, or an instant vector of exactly one series, is the value; an empty
 * vector, several series, a non-finite value, an error or an unreachable server is "unavailable"
 * with its reason, which the engine records as a skip, never a fire.
 */
export type MetricRead = { readonly kind: 'value'; readonly value: number; readonly series: string } | { readonly kind: 'unavailable'; readonly reason: string };

type Sample = readonly [number, string];
interface QueryBody {
  status?: string; errorType?: string; error?: string;
  data?: { resultType?: string; result?: unknown };
}

function seriesName(metric: { readonly [k: string]: string } | undefined): string {
  if (!metric) return '{}';
  const { __name__: name, ...labels } = metric;
  const ls = Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(', ');
  return `${name ?? ''}{${ls}}`;
}

/**
 * Evaluates `query` at `time` (ms) against the Prometheus at `url` (e.g. `http://prometheus.monitoring.svc:9090`).
 *
 * @example await queryInstant('http://127.0.0.1:9090', 'model_accuracy{model="iris"}', Date.now())
 */
export async function queryInstant(url: string, query: string, time: number, o: { timeoutMs?: number; fetch?: typeof fetch } = {}): Promise<MetricRead> {
  const u = new URL('/api/v1/query', url);
  u.searchParams.set('query', query);
  u.searchParams.set('time', (time / 1000).toFixed(3));
  let res: Response;
  try {
    res = await (o.fetch ?? fetch)(u, { signal: AbortSignal.timeout(o.timeoutMs ?? 10_000), headers: { accept: 'application/json' } });
  } catch (e) {
    return { kind: 'unavailable', reason: `prometheus at ${url} did not answer: ${(e as Error).message}` };
  }
  let body: QueryBody;
  try {
    body = (await res.json()) as QueryBody;
  } catch {
    return { kind: 'unavailable', reason: `prometheus answered HTTP ${res.status} without a JSON body` };
  }
  if (body.status !== 'success') return { kind: 'unavailable', reason: `prometheus query failed (HTTP ${res.status}${body.errorType ? `, ${body.errorType}` : ''}): ${body.error ?? 'no error message'}` };
  const d = body.data ?? {};
  let sample: Sample | undefined;
  let series = 'scalar';
  if (d.resultType === 'scalar') sample = d.result as Sample;
  else if (d.resultType === 'vector') {
    const r = (d.result ?? []) as { metric?: { [k: string]: string }; value?: Sample }[];
    if (r.length === 0) return { kind: 'unavailable', reason: `prometheus query ${JSON.stringify(query)} returned no series at ${new Date(time).toISOString()}` };
    if (r.length > 1) return { kind: 'unavailable', reason: `prometheus query ${JSON.stringify(query)} returned ${r.length} series (${r.slice(0, 3).map((x) => seriesName(x.metric)).join(', ')}${r.length > 3 ? ', ...' : ''}); it must return one` };
    sample = r[0]!.value;
    series = seriesName(r[0]!.metric);
  } else return { kind: 'unavailable', reason: `prometheus query ${JSON.stringify(query)} returned a ${d.resultType ?? 'missing'} result; a metric monitor needs an instant vector of one series or a scalar` };
  const value = Number(sample?.[1]);
  if (!Number.isFinite(value)) return { kind: 'unavailable', reason: `prometheus query ${JSON.stringify(query)} gave ${String(sample?.[1])} for ${series}, not a finite number` };
  return { kind: 'value', value, series };
}
