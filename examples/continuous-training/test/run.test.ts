/** The example end to end: the real daemon on a simulated stream; retrains only after the drift. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '@sluice/compiler';
import { toIR } from '@sluice/sdk';
import { emitTriggers, TriggerStore, type ArgoObject } from '@sluice/triggers';
import tabular from '../../tabular-training/pipeline.ts';
import { main } from '../run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sluice-ct-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('continuous-training', () => {
  it('stays quiet on the undrifted stream, retrains after the drift, and the new reference re-arms it', async () => {
    const r = await main(join(tmp, 'work'), { quiet: true });
    const fires = r.decisions.filter((d) => d.kind === 'fire');
    const driftStart = Date.parse('2026-03-01T00:55:30Z'); // batch 10, the first drifted one, is measured at 01:00
    expect(r.decisions.filter((d) => Date.parse(String(d.evidence.scheduledTime)) < driftStart).every((d) => d.kind === 'skip')).toBe(true);
    expect(r.decisions.slice(0, 2).map((d) => d.reason)).toEqual(['insufficient samples (60, need 124)', 'insufficient samples (120, need 124)']);
    expect(fires.length).toBeGreaterThanOrEqual(1);
    expect(fires.length).toBeLessThanOrEqual(2);
    expect(Date.parse(String(fires[0]!.evidence.scheduledTime))).toBeGreaterThan(driftStart);
    expect(r.runs.map((x) => x.status)).toEqual(fires.map(() => 'succeeded'));
    expect(r.runs.map((x) => x.id).sort()).toEqual(fires.map((f) => f.runId).sort());
    // each retrain learned from the window that drifted; its data is the next reference
    for (const run of r.runs) expect(readFileSync(run.source, 'utf8').split('\n')[0]).toBe('sepal_length,sepal_width,petal_length,petal_width,species');
    expect(existsSync(join(r.store, 'triggers', 'reports', fires[0]!.runId!, 'drift-report.txt'))).toBe(true);
    // each retrain has its drift report attached (HTML, recorded with its hash)
    const store = TriggerStore.open(join(r.store, 'state.db'), { readonly: true });
    try {
      for (const f of fires) {
        const [rep] = store.reports(f.runId!);
        expect(rep).toMatchObject({ name: 'drift-report', trigger: 'iris-drift', media_type: 'text/html' });
        expect(readFileSync(rep!.path, 'utf8')).toContain('<h1>Drift report: iris-drift</h1>');
      }
    } finally { store.close(); }
    // after the last retrain, the stream matches the model's data again: no drift until the end
    const last = r.decisions.slice(-4);
    expect(last.map((d) => d.reason)).toEqual(last.map(() => '0 < 0.25: no drift'));
    expect(r.timeline.split('\n')[0]).toMatch(/^time\s+statistic\s+n\s+threshold\s+decision\s+reason$/);
  });

  it('compiles to Argo objects with no issues', async () => {
    const { irisDrift } = await import('../triggers.ts');
    const template = compile(toIR(tabular), { entry: 'examples/tabular-training/pipeline.ts', kind: 'template', image: 'ghcr.io/acme/sluice:1' }).objects[0] as ArgoObject;
    const out = emitTriggers([irisDrift.ir], { namespace: 'ml', image: 'ghcr.io/acme/sluice:1', templates: { 'tabular-training': template }, s3: { endpoint: 'http://minio.ml.svc:9000', bucket: 'ml-data' } });
    expect(out.issues).toEqual([]);
    // the monitor step reads the stream and the reference from S3 (keys from a Secret, never inlined)
    const gate = out.objects[0] as { spec: { templates: { name: string; container?: { env: { name: string; value?: string; valueFrom?: unknown }[] } }[] } };
    const env = gate.spec.templates.find((t) => t.name === 'decide')!.container!.env;
    expect(env.slice(2)).toEqual([
      { name: 'SLUICE_S3', value: '{"endpoint":"http://minio.ml.svc:9000","bucket":"ml-data","prefix":"sluice/"}' },
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'sluice-s3', key: 'accesskey' } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'sluice-s3', key: 'secretkey' } } },
    ]);
    // without the S3 store the monitor cannot read its data on the cluster: an issue, not a silent skip
    expect(emitTriggers([irisDrift.ir], { namespace: 'ml', image: 'x', templates: { 'tabular-training': template } }).issues.map((i) => i.message)).toEqual([
      'a drift monitor reads its data from S3 on the cluster: give the S3 store (s3 option, --s3-endpoint and --s3-bucket)',
    ]);
    expect(out.objects.map((o) => String(o.kind))).toEqual(['WorkflowTemplate', 'ConfigMap', 'ConfigMap', 'CronWorkflow', 'EventBus', 'ServiceAccount', 'Role', 'RoleBinding']);
  });
});
