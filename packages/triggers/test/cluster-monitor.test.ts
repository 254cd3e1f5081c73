// The monitor step on the cluster: the gate (`sluice triggers gate`, here runGate in process) reads a
// metric from a real Prometheus (Debian's 2.42, its TSDB built from OpenMetrics samples by promtool,
// on 127.0.0.1) and a drift window from a real S3 server (s3rver on 127.0.0.1), through the same
// engine as the daemon. Errors and empty results skip with their reason; they never fire.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGate } from '../src/cli.ts';
import { queryInstant } from '../src/cluster/prometheus.ts';
import { monitor, trigger } from '../src/define.ts';
import { initialState, type TriggerState } from '../src/engine.ts';
import { retrain, train } from './helpers.ts';
import { havePrometheus, prometheusSkip, startPrometheus } from './support/prometheus.ts';
import { startS3 } from './support/s3.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sluice-cluster-monitor-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const required = process.env.CI === 'true';
const T0 = Date.parse('2026-01-01T00:00:00Z') / 1000;

describe.skipIf(!havePrometheus && !required)(havePrometheus || required ? 'metric monitor: a Prometheus instant query' : prometheusSkip, () => {
  let prom: Awaited<ReturnType<typeof startPrometheus>>;
  beforeAll(async () => {
    prom = await startPrometheus(join(tmp, 'prom'), [
      '# HELP model_accuracy Held-out accuracy of the served model.', '# TYPE model_accuracy gauge',
      `model_accuracy{model="iris"} 0.93 ${T0}`, `model_accuracy{model="iris"} 0.71 ${T0 + 600}`,
      `model_accuracy{model="wine"} 0.88 ${T0}`, `model_accuracy{model="wine"} 0.90 ${T0 + 600}`, '# EOF', '',
    ].join('\n'));
  }, 60_000);
  afterAll(async () => { await prom?.stop(); });

  it('an instant vector of one series or a scalar is the value; empty, several series, errors and no server are unavailable with the reason', async () => {
    const at = (s: number) => (T0 + s) * 1000;
    expect(await queryInstant(prom.url, 'model_accuracy{model="iris"}', at(120))).toEqual({ kind: 'value', value: 0.93, series: 'model_accuracy{model="iris"}' });
    expect(await queryInstant(prom.url, 'model_accuracy{model="iris"}', at(700))).toEqual({ kind: 'value', value: 0.71, series: 'model_accuracy{model="iris"}' });
    expect(await queryInstant(prom.url, 'scalar(model_accuracy{model="iris"}) * 100', at(700))).toEqual({ kind: 'value', value: 71, series: 'scalar' });
    expect(await queryInstant(prom.url, 'model_accuracy{model="iris"}', at(3600))).toEqual({ kind: 'unavailable', reason: 'prometheus query "model_accuracy{model=\\"iris\\"}" returned no series at 2026-01-01T01:00:00.000Z' });
    expect(await queryInstant(prom.url, 'model_accuracy', at(700))).toEqual({ kind: 'unavailable', reason: 'prometheus query "model_accuracy" returned 2 series (model_accuracy{model="iris"}, model_accuracy{model="wine"}); it must return one' });
    const bad = await queryInstant(prom.url, 'sum(((', at(700));
    expect(bad.kind).toBe('unavailable');
    expect(bad.kind === 'unavailable' && bad.reason).toMatch(/^prometheus query failed \(HTTP 400, bad_data\): invalid parameter "query": .*parse error/);
    const down = await queryInstant('http://127.0.0.1:9', 'up', at(0), { timeoutMs: 2000 });
    expect(down.kind === 'unavailable' && down.reason).toMatch(/^prometheus at http:\/\/127\.0\.0\.1:9 did not answer: /);
  });

  it('the gate fires when the queried metric falls below its threshold and skips, with the reason, when Prometheus has nothing', async () => {
    const t = trigger({
      name: 'iris-accuracy', target: train, params: (e) => ({ source: 's3://mlops/iris.csv', lr: e.value }),
      source: monitor.metric({ cron: '*/5 * * * *', timezone: 'Etc/UTC', pipeline: train, output: 'accuracy', direction: 'below', query: 'model_accuracy{model="iris"}' }),
      policy: { hysteresis: { high: 0.8, low: 0.85 } },
    }).ir;
    const env = { SLUICE_PROMETHEUS_URL: prom.url };
    const gate = async (state: TriggerState | undefined, tick: string, out: string) => {
      const d = await runGate(t, state ? JSON.stringify(state) : '', JSON.stringify({ scheduledTime: tick, measure: true }), join(tmp, out), Date.parse(tick) + 5000, { env });
      return { d, state: JSON.parse(JSON.parse(readFileSync(join(tmp, out, 'state.json-string'), 'utf8')) as string) as TriggerState };
    };
    const a = await gate(undefined, '2026-01-01T00:05:00Z', 'm1');
    expect([a.d.kind, a.d.reason]).toEqual(['skip', '0.93 > 0.8: no crossing']);
    expect(a.d.evidence).toMatchObject({ value: 0.93, statistic: 'model_accuracy{model="iris"}', series: 'model_accuracy{model="iris"}' });
    const b = await gate(a.state, '2026-01-01T00:15:00Z', 'm2');
    expect([b.d.kind, b.d.params]).toEqual(['fire', { lr: 0.71, source: 's3://mlops/iris.csv' }]);
    expect(readFileSync(join(tmp, 'm2', 'decision'), 'utf8')).toBe('fire');
    const c = await gate(b.state, '2026-01-01T02:00:00Z', 'm3');
    expect([c.d.kind, c.d.reason]).toEqual(['skip', 'prometheus query "model_accuracy{model=\\"iris\\"}" returned no series at 2026-01-01T02:00:00.000Z']);
    expect(readFileSync(join(tmp, 'm3', 'decision'), 'utf8')).toBe('skip');
    const noUrl = await runGate(t, '', JSON.stringify({ scheduledTime: '2026-01-01T00:15:00Z' }), join(tmp, 'm4'), Date.parse('2026-01-01T00:15:05Z'), { env: {} });
    expect([noUrl.kind, noUrl.reason]).toEqual(['skip', 'SLUICE_PROMETHEUS_URL is not set in the gate step (compile with --prometheus <url>)']);
  });
});

describe('drift monitor: reference and window from S3, report back to S3', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  let client: Client;
  beforeAll(async () => {
    s3 = await startS3(join(tmp, 's3'), ['mlops']);
    client = new Client({ endPoint: '127.0.0.1', port: s3.port, useSSL: false, accessKey: 'S3RVER', secretKey: 'S3RVER', pathStyle: true });
  });
  afterAll(async () => { await s3?.stop(); });

  it('fires on a drifted window read from S3; the run gets the window and the drift report as S3 artifacts; the lineage reference advances', async () => {
    const rows = (n: number, shift: number) => ['time,x', ...Array.from({ length: n }, (_, i) => `2026-01-01T00:0${Math.floor(i / 100)}:00Z,${((i * 7919) % 1000) / 100 + shift}`)].join('\n') + '\n';
    await client.putObject('mlops', 'sluice/data/ref.csv', Buffer.from(rows(500, 0)));
    await client.putObject('mlops', 'sluice/data/stream/part-0.csv', Buffer.from(rows(300, 0)));
    await client.putObject('mlops', 'sluice/data/stream/part-1.csv', Buffer.from(rows(300, 4).replace(/2026-01-01T00:0/g, '2026-01-01T00:1')));
    const t = trigger({
      name: 'x-drift', target: retrain, params: (e) => ({ data: e.data, report: e.report }),
      source: monitor.drift({ cron: '*/5 * * * *', timezone: 'Etc/UTC', features: ['x'], threshold: 0.2, reference: { lineage: 'data', fallback: 'ref.csv' }, current: { path: 'stream', window: 300 } }),
    }).ir;
    const env = { SLUICE_S3: JSON.stringify({ endpoint: s3.endpoint, bucket: 'mlops', prefix: 'sluice/' }), AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
    const gate = async (state: TriggerState, tick: string, out: string) => {
      const d = await runGate(t, JSON.stringify(state), JSON.stringify({ scheduledTime: tick, measure: true }), join(tmp, out), Date.parse(tick) + 5000, { env });
      return { d, state: JSON.parse(JSON.parse(readFileSync(join(tmp, out, 'state.json-string'), 'utf8')) as string) as TriggerState };
    };
    // at 00:05 the window (rows up to 00:05) is the undrifted part
    const quiet = await gate(initialState(), '2026-01-01T00:05:00Z', 'd1');
    expect([quiet.d.kind, quiet.d.reason]).toEqual(['skip', '0 < 0.2: no drift']);
    expect(quiet.d.evidence.reference).toBe('s3://mlops/sluice/data/ref.csv');
    const fired = await gate(quiet.state, '2026-01-01T00:20:00Z', 'd2');
    expect(fired.d.kind).toBe('fire');
    const dir = 's3://mlops/sluice/triggers/x-drift/2026-01-01T002000000Z';
    expect(fired.d.params).toEqual({ data: `${dir}/window.csv`, report: `${dir}/drift-report.html` });
    expect([readFileSync(join(tmp, 'd2', 'params', 'report.bucket'), 'utf8'), readFileSync(join(tmp, 'd2', 'params', 'report.key'), 'utf8')]).toEqual(['mlops', 'sluice/triggers/x-drift/2026-01-01T002000000Z/drift-report.html']);
    const read = async (key: string) => { const chunks: Buffer[] = []; for await (const c of await client.getObject('mlops', key)) chunks.push(c as Buffer); return Buffer.concat(chunks).toString(); };
    const html = await read('sluice/triggers/x-drift/2026-01-01T002000000Z/drift-report.html');
    expect(html).toContain('<title>Drift report: x-drift at 2026-01-01T00:20:00.000Z</title>');
    expect(html).toContain('against reference <code>s3://mlops/sluice/data/ref.csv</code>');
    expect((await read('sluice/triggers/x-drift/2026-01-01T002000000Z/window.csv')).split('\n')[0]).toBe('x');
    // the fired run's window is the next reference
    expect(fired.state.lineage).toBe(`${dir}/window.csv`);
    const after = await gate(fired.state, '2026-01-01T00:25:00Z', 'd3');
    expect(after.d.evidence).toMatchObject({ reference: `${dir}/window.csv`, value: 0 });
    // no keys: unavailable with the reason, not a fire
    const noKeys = await runGate(t, '', JSON.stringify({ scheduledTime: '2026-01-01T00:20:00Z' }), join(tmp, 'd4'), Date.parse('2026-01-01T00:20:05Z'), { env: { SLUICE_S3: env.SLUICE_S3 } });
    expect([noKeys.kind, noKeys.reason]).toEqual(['skip', 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment (the S3 keys are read from there)']);
  });
});
