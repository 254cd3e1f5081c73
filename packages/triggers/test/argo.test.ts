import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '@sluice/compiler';
import { toIR } from '@sluice/sdk';
import { haveSchemas, schemaErrors, sharedArgo, skipReason } from '../../compiler/test/helpers/argo.ts';
import { checkArgoObjects, emitTriggers, type ArgoObject } from '../src/argo/emit.ts';
import { gateEventFields, runGate } from '../src/cli.ts';
import { dataArrival, monitor, schedule, trigger, upstream } from '../src/define.ts';
import { ingest, report, train } from './helpers.ts';
import { envelopeOf } from '../src/local/daemon.ts';

const templates = {
  train: compile(toIR(train), { entry: 'pipelines/train.ts', kind: 'template', image: 'ghcr.io/acme/train:1' }).objects[0] as ArgoObject,
  ingest: compile(toIR(ingest), { entry: 'pipelines/ingest.ts', kind: 'template', image: 'ghcr.io/acme/train:1' }).objects[0] as ArgoObject,
};
const triggers = [
  trigger({ name: 'nightly', source: schedule({ cron: '0 3 * * *', timezone: 'Europe/Berlin', catchUp: '1h' }), target: train, params: (e) => ({ source: 's3://raw/iris.csv', runDate: e.scheduledTime }), policy: { concurrency: 'replace' } }),
  trigger({ name: 'hourly-cooldown', source: schedule({ cron: '0 * * * *', timezone: 'America/New_York' }), target: train, params: () => ({ source: 's3://raw/iris.csv' }), policy: { cooldown: '3h' } }),
  trigger({ name: 'new-data', source: dataArrival.webhook({ endpoint: '/new-data', fields: { uri: 'string', rows: 'integer' } }), target: train, params: (e) => ({ source: e.uri, epochs: e.rows }), policy: { dedupe: ['uri'] } }),
  trigger({ name: 'landed', source: dataArrival.s3({ bucket: 'raw', prefix: 'daily/', endpoint: 'http://minio.ml.svc:9000' }), target: ingest, params: (e) => ({ data: e.uri }) }),
  trigger({ name: 'after-ingest', source: upstream(ingest, { statuses: ['succeeded', 'failed'] }), target: train, params: (e) => ({ source: e.runId }) }),
  trigger({
    name: 'drift', target: train, params: (e) => ({ source: e.reference }),
    source: monitor.drift({ cron: '*/15 * * * *', timezone: 'Etc/UTC', features: ['x'], threshold: 0.2, reference: { lineage: 'source' }, current: { path: 'c.csv', window: 500 } }),
  }),
].map((t) => t.ir);
const opts = { namespace: 'ml', image: 'ghcr.io/acme/sluice:1', templates, prometheus: 'http://prometheus.monitoring.svc:9090', s3: { endpoint: 'http://minio.ml.svc:9000', bucket: 'ml-artifacts' } };
const tmp = mkdtempSync(join(tmpdir(), 'sluice-gate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const kinds = (objs: readonly ArgoObject[]) => objs.map((o) => `${String(o.kind)}/${String((o.metadata as { name: string }).name)}`);

describe('compiled Argo objects', () => {
  const { objects, issues } = emitTriggers(triggers, opts);

  it('emits one object set without issues, deterministically', () => {
    expect(issues).toEqual([]);
    expect(kinds(objects)).toEqual([
      'WorkflowTemplate/after-ingest-gate', 'ConfigMap/after-ingest-trigger', 'ConfigMap/after-ingest-state', 'Sensor/after-ingest',
      'WorkflowTemplate/drift-gate', 'ConfigMap/drift-trigger', 'ConfigMap/drift-state', 'CronWorkflow/drift',
      'WorkflowTemplate/hourly-cooldown-gate', 'ConfigMap/hourly-cooldown-trigger', 'ConfigMap/hourly-cooldown-state', 'CronWorkflow/hourly-cooldown',
      'WorkflowTemplate/landed-gate', 'ConfigMap/landed-trigger', 'ConfigMap/landed-state', 'Sensor/landed',
      'WorkflowTemplate/new-data-gate', 'ConfigMap/new-data-trigger', 'ConfigMap/new-data-state', 'Sensor/new-data',
      'CronWorkflow/nightly',
      'WorkflowTemplate/ingest',
      'EventSource/landed-source', 'EventSource/new-data-source', 'EventSource/sluice-runs',
      'EventBus/default', 'ServiceAccount/sluice-triggers', 'Role/sluice-triggers', 'RoleBinding/sluice-triggers',
    ]);
    expect(JSON.stringify(emitTriggers([...triggers].reverse(), opts).objects)).toBe(JSON.stringify(objects));
  });

  it('CronWorkflow: time zone always written, concurrency mapped, catch-up as startingDeadlineSeconds', () => {
    const nightly = objects.find((o) => o.kind === 'CronWorkflow' && (o.metadata as { name: string }).name === 'nightly') as { spec: Record<string, unknown> };
    expect(nightly.spec).toEqual({
      schedules: ['0 3 * * *'], timezone: 'Europe/Berlin', concurrencyPolicy: 'Replace', startingDeadlineSeconds: 3600,
      workflowMetadata: { labels: { 'sluice.dev/trigger': 'nightly' } },
      workflowSpec: { workflowTemplateRef: { name: 'train' }, arguments: { parameters: [{ name: 'runDate', value: '{{workflow.scheduledTime}}' }, { name: 'source', value: 's3://raw/iris.csv' }] } },
    });
    const hourly = objects.find((o) => (o.metadata as { name: string }).name === 'hourly-cooldown' && o.kind === 'CronWorkflow') as { spec: { concurrencyPolicy: string; timezone: string; workflowSpec: { workflowTemplateRef: { name: string } } } };
    expect([hourly.spec.timezone, hourly.spec.concurrencyPolicy, hourly.spec.workflowSpec.workflowTemplateRef.name]).toEqual(['America/New_York', 'Forbid', 'hourly-cooldown-gate']);
  });

  it('an upstream pipeline announces its end from an exit hook, whatever the outcome', () => {
    const announced = objects.find((o) => o.kind === 'WorkflowTemplate' && (o.metadata as { name: string }).name === 'ingest') as { spec: { hooks: unknown; templates: { name: string; http?: { url: string; body: string } }[] } };
    expect(announced.spec.hooks).toEqual({ exit: { template: 'sluice-announce' } });
    const http = announced.spec.templates.find((t) => t.name === 'sluice-announce')!.http!;
    expect(http.url).toBe('http://sluice-runs-eventsource-svc.ml.svc:12000/runs');
    expect(http.body).toContain('"pipeline":"ingest","runId":"{{workflow.name}}","status":"{{=sprig.lower(workflow.status)}}"');
    const sensorFilter = (objects.find((o) => o.kind === 'Sensor' && (o.metadata as { name: string }).name === 'after-ingest') as { spec: { dependencies: { filters: unknown }[] } }).spec.dependencies[0]!.filters;
    expect(sensorFilter).toEqual({ data: [{ path: 'body.pipeline', type: 'string', value: ['ingest'] }, { path: 'body.status', type: 'string', value: ['succeeded', 'failed', 'error'] }] });
    // the compiler's own template is left as it was
    expect((templates.ingest.spec as { hooks?: unknown }).hooks).toBeUndefined();
  });

  it("the exit hook posts the upstream run's outputs in the envelope the daemon builds, and the gate maps them the same way", async () => {
    const a = trigger({ name: 'after-train', source: upstream(train), target: report, params: (e) => ({ accuracy: e.outputs.accuracy, run: e.runId }) }).ir;
    const r = emitTriggers([a], { ...opts, templates: { ...templates, report: compile(toIR(report), { entry: 'pipelines/report.ts', kind: 'template', image: 'ghcr.io/acme/train:1' }).objects[0] as ArgoObject } });
    expect(r.issues).toEqual([]);
    const hook = (r.objects.find((o) => o.kind === 'WorkflowTemplate' && (o.metadata as { name: string }).name === 'train') as { spec: { templates: { name: string; http?: { body: string } }[] } }).spec.templates.find((t) => t.name === 'sluice-announce')!.http!.body;
    expect(hook).toContain(`"outputs":{"accuracy":{{=sprig.toJson(sprig.dig('outputs', 'parameters', 'accuracy', nil, workflow))}}}`);
    // what Argo makes of it: outputs are parameter strings (sprig.toJson of "0.8" is "\"0.8\"")
    const posted = JSON.parse(hook.replace('{{workflow.name}}', 'train-x1').replace('{{=sprig.lower(workflow.status)}}', 'succeeded').replace(/\{\{=sprig\.date[^}]*\}\}/, '2026-01-01T00:00:00.000Z').replace(/\{\{=sprig\.toJson\(sprig\.dig\('outputs', 'parameters', 'accuracy', nil, workflow\)\)\}\}/, '"0.8"'));
    const local = envelopeOf({ id: 'train-x1', pipeline: 'train', status: 'succeeded', finished_at: Date.parse('2026-01-01T00:00:00Z'), outputs: JSON.stringify({ accuracy: 0.8, model: { kind: 'artifact', hash: 'ab' } }) });
    expect(Object.keys(posted).sort()).toEqual(Object.keys(local).sort());
    expect(posted).toEqual({ ...local, outputs: { accuracy: '0.8' } });
    const fromHook = await runGate(a, '', JSON.stringify(posted), join(tmp, 'g-up1'), Date.parse('2026-01-01T00:01:00Z'));
    const fromStore = await runGate(a, '', JSON.stringify(local), join(tmp, 'g-up2'), Date.parse('2026-01-01T00:01:00Z'));
    expect([fromHook.kind, fromHook.params]).toEqual(['fire', { accuracy: 0.8, run: 'train-x1' }]);
    expect(fromStore.params).toEqual(fromHook.params);
    // a failed run that produced no outputs: the mapping skips with its reason
    const failed = await runGate(a, '', JSON.stringify({ ...posted, status: 'failed', outputs: { accuracy: null } }), join(tmp, 'g-up3'));
    expect(failed.kind).toBe('skip');
  });

  it.skipIf(!haveSchemas)(haveSchemas ? 'Workflow kinds validate against the Argo JSON Schema and full CRDs' : skipReason, () => {
    const wf = objects.filter((o) => ['CronWorkflow', 'WorkflowTemplate'].includes(String(o.kind)));
    expect(wf.length).toBeGreaterThan(5);
    for (const o of wf) expect(schemaErrors(o), kinds([o])[0]).toEqual([]);
    // the Workflow each Sensor submits, embedded in the Sensor
    for (const s of objects.filter((o) => o.kind === 'Sensor')) {
      const embedded = ((s.spec as { triggers: { template: { argoWorkflow: { source: { resource: ArgoObject } } } }[] }).triggers[0]!.template.argoWorkflow.source.resource);
      expect(schemaErrors(embedded)).toEqual([]);
    }
  }, 240_000); // compiling the full CRD schemas takes a minute on a loaded 2-core machine

  it.skipIf(!haveSchemas)(haveSchemas ? 'EventSource, Sensor and EventBus validate against the Argo Events JSON Schema (v1.9)' : skipReason, () => {
    const schema = JSON.parse(readFileSync(join(sharedArgo, 'events.schema.json'), 'utf8'));
    type AjvLike = { addFormat(n: string, f: true): unknown; addSchema(s: object, key: string): unknown; getSchema(ref: string): (((d: unknown) => boolean) & { errors?: unknown }) | undefined };
    const AjvCtor = ((Ajv as unknown as { default?: unknown }).default ?? Ajv) as new (o: object) => AjvLike;
    const ajv = new AjvCtor({ strict: false, allErrors: true });
    for (const f of ['int32', 'int64', 'byte', 'date-time', 'double', 'float']) ajv.addFormat(f, true);
    ajv.addSchema({ ...schema, $schema: undefined, oneOf: undefined }, 'events');
    const ev = objects.filter((o) => ['EventSource', 'Sensor', 'EventBus'].includes(String(o.kind)));
    expect(ev).toHaveLength(7);
    for (const o of ev) {
      const v = ajv.getSchema(`events#/definitions/io.argoproj.events.v1alpha1.${String(o.kind)}`)!;
      expect(v(JSON.parse(JSON.stringify(o))) ? [] : v.errors, kinds([o])[0]).toEqual([]);
    }
    // the schema does catch shapes: a port must be a string
    const bad = structuredClone(ev.find((o) => o.kind === 'EventSource')) as { spec: { webhook?: { [k: string]: { port: unknown } } } };
    const v = ajv.getSchema('events#/definitions/io.argoproj.events.v1alpha1.EventSource')!;
    const wh = Object.values(bad.spec.webhook ?? {})[0];
    if (wh) { wh.port = 12000; expect(v(bad)).toBe(false); }
  });

  it('an S3 prefix compiles to the minio EventSource (MinIO bucket notifications) whose record the gate reads as the daemon does', () => {
    const es = objects.find((o) => o.kind === 'EventSource' && (o.metadata as { name: string }).name === 'landed-source') as { spec: unknown };
    expect(es.spec).toEqual({
      eventBusName: 'default',
      minio: { arrival: { bucket: { name: 'raw' }, endpoint: 'minio.ml.svc:9000', events: ['s3:ObjectCreated:*'], filter: { prefix: 'daily/', suffix: '' }, insecure: true, accessKey: { name: 'sluice-s3', key: 'accesskey' }, secretKey: { name: 'sluice-s3', key: 'secretkey' } } },
    });
    // each Sensor takes what its source puts in the event's data: a webhook's body, the minio source's first record
    const dataKey = (n: string) => (objects.find((o) => o.kind === 'Sensor' && (o.metadata as { name: string }).name === n) as { spec: { triggers: { template: { argoWorkflow: { parameters: { src: { dataKey: string } }[] } } }[] } }).spec.triggers[0]!.template.argoWorkflow.parameters[0]!.src.dataKey;
    expect([dataKey('landed'), dataKey('new-data'), dataKey('after-ingest')]).toEqual(['notification.0', 'body', 'body']);
    // a MinIO notification record: the key URL-encoded, the ETag bare; the same fields as a local listing
    const landed = triggers.find((t) => t.name === 'landed')!;
    expect(gateEventFields(landed, { eventName: 's3:ObjectCreated:Put', eventTime: '2026-01-03T00:00:10.000Z', s3: { bucket: { name: 'raw' }, object: { key: 'daily/day+1%2Bx.csv', size: 7, eTag: 'b469fee9c6ba77f9e06e3c7e7d8a8311' } } })).toEqual({
      uri: 's3://raw/daily/day 1+x.csv', key: 'daily/day 1+x.csv', size: 7, etag: 'b469fee9c6ba77f9e06e3c7e7d8a8311', time: '2026-01-03T00:00:10.000Z',
    });
    // AWS S3 has no minio API: its notifications go through SNS/SQS, which is not compiled
    const aws = trigger({ name: 'aws', source: dataArrival.s3({ bucket: 'raw', prefix: 'daily/' }), target: ingest, params: (e) => ({ data: e.uri }) }).ir;
    expect(emitTriggers([aws], opts).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'aws/source.data.s3.endpoint: no endpoint: AWS S3 sends bucket notifications through SNS/SQS, which this version does not compile; give the endpoint of a MinIO server (http://host:port)',
    ]);
  });

  it("an artifact parameter reaches the target Workflow as an S3 artifact (bucket and key from the gate), not as a parameter", () => {
    const gate = objects.find((o) => o.kind === 'WorkflowTemplate' && (o.metadata as { name: string }).name === 'landed-gate') as { spec: { templates: { name: string; resource?: { manifest: string }; inputs?: { parameters: { name: string }[] } }[] } };
    const launch = gate.spec.templates.find((t) => t.name === 'launch')!;
    expect(launch.inputs!.parameters.map((p) => p.name)).toEqual(['run-name', 'b-data', 'k-data']);
    const wf = JSON.parse(launch.resource!.manifest) as { spec: { arguments: { parameters: unknown[]; artifacts: unknown[] } } };
    expect(wf.spec.arguments).toEqual({
      parameters: [],
      artifacts: [{ name: 'data', s3: { endpoint: 'minio.ml.svc:9000', insecure: true, bucket: '{{inputs.parameters.b-data}}', key: '{{inputs.parameters.k-data}}', accessKeySecret: { name: 'sluice-s3', key: 'accesskey' }, secretKeySecret: { name: 'sluice-s3', key: 'secretkey' } } }],
    });
    // the compiled ingest template takes data as an input artifact
    expect((templates.ingest.spec as { arguments: { artifacts: { name: string }[] } }).arguments.artifacts.map((a) => a.name)).toEqual(['data']);
    // without an S3 store it cannot be passed: an issue
    expect(emitTriggers(triggers.filter((t) => t.name === 'landed'), { namespace: opts.namespace, image: opts.image, templates }).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'landed/params.data: "data" is an artifact parameter: on the cluster it is passed as an S3 artifact; give the S3 store (s3 option, --s3-endpoint and --s3-bucket)',
    ]);
  });

  it('cross-object checks the Sensor CRD cannot do: broken fixtures with pinned messages', () => {
    const broken = structuredClone(objects) as { [k: string]: any }[];
    const sensor = broken.find((o) => o.kind === 'Sensor' && o.metadata.name === 'new-data')!;
    sensor.spec.dependencies[0].eventName = 'arival';
    sensor.spec.dependencies.push({ name: 'x', eventSourceName: 'nope', eventName: 'e', filters: { data: [{ path: 'body.a', type: 'int', value: ['1'], comparator: '=>' }] } });
    sensor.spec.triggers[0].template.argoWorkflow.operation = 'create';
    sensor.spec.triggers[0].template.argoWorkflow.parameters[0].dest = 'spec.arguments.parameters.1.value';
    sensor.spec.triggers[0].template.argoWorkflow.parameters.push({ src: { dependencyName: 'evnt' }, dest: 'spec.arguments.parameters.0.value' });
    sensor.spec.triggers[0].template.argoWorkflow.source.resource.spec.workflowTemplateRef.name = 'new-data-gat';
    sensor.spec.template.serviceAccountName = 'sluice';
    const other = broken.find((o) => o.kind === 'Sensor' && o.metadata.name === 'landed')!;
    other.spec.triggers[0].template.argoWorkflow.source.resource = { apiVersion: 'v1', kind: 'ConfigMap' };
    other.spec.eventBusName = 'main';
    const cron = broken.find((o) => o.kind === 'CronWorkflow' && o.metadata.name === 'nightly')!;
    cron.spec.concurrencyPolicy = 'Skip';
    delete cron.spec.timezone;
    cron.spec.workflowSpec.workflowTemplateRef.name = 'trian';
    const es = broken.find((o) => o.kind === 'EventSource' && o.metadata.name === 'new-data-source')!;
    es.spec.webhook.arrival.method = 'post';
    expect(checkArgoObjects(broken, Object.values(templates)).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'Sensor/landed/spec.eventBusName: event bus "main" is not defined',
      'Sensor/landed/spec.triggers[0].template.argoWorkflow.source.resource: the embedded object must be an argoproj.io/v1alpha1 Workflow, found v1 ConfigMap',
      'Sensor/new-data/spec.template.serviceAccountName: service account "sluice" is not defined',
      'Sensor/new-data/spec.dependencies[0].eventName: event source "new-data-source" has no event "arival" (it has arrival)',
      'Sensor/new-data/spec.dependencies[1].eventSourceName: event source "nope" is not defined',
      'Sensor/new-data/spec.dependencies[1].filters.data[0].type: filter type "int" is not one of string, number, bool',
      'Sensor/new-data/spec.dependencies[1].filters.data[0].comparator: comparator "=>" is not one of >= > = != < <=',
      'Sensor/new-data/spec.triggers[0].template.argoWorkflow.operation: operation "create" is not one of submit, resubmit, resume, retry, suspend, terminate, stop',
      'Sensor/new-data/spec.triggers[0].template.argoWorkflow.source.resource.spec.workflowTemplateRef: workflowTemplateRef "new-data-gat" names no WorkflowTemplate (there are: after-ingest-gate, drift-gate, hourly-cooldown-gate, ingest, landed-gate, new-data-gate, train)',
      'Sensor/new-data/spec.triggers[0].template.argoWorkflow.parameters[0].dest: dest "spec.arguments.parameters.1.value": the embedded Workflow has 1 parameter (indices 0..0)',
      'Sensor/new-data/spec.triggers[0].template.argoWorkflow.parameters[1].src.dependencyName: dependency "evnt" is not declared (event, x)',
      'CronWorkflow/nightly/spec.timezone: timezone must always be written',
      'CronWorkflow/nightly/spec.concurrencyPolicy: concurrencyPolicy "Skip" is not one of Allow, Forbid, Replace',
      'CronWorkflow/nightly/spec.workflowSpec.workflowTemplateRef: workflowTemplateRef "trian" names no WorkflowTemplate (there are: after-ingest-gate, drift-gate, hourly-cooldown-gate, ingest, landed-gate, new-data-gate, train)',
      'EventSource/new-data-source/spec.webhook.arrival.method: method "post" is not one of GET, POST, PUT, DELETE, PATCH',
    ].sort((a, b) => order(a) - order(b)));
  });

  it('trigger cycles a -> b -> a are reported by the emitter; a missing template too', () => {
    const a = trigger({ name: 'a', source: upstream(train), target: ingest, params: (e) => ({ data: e.runId }) }).ir;
    const b = trigger({ name: 'b', source: upstream(ingest), target: train, params: (e) => ({ source: e.runId }) }).ir;
    expect(emitTriggers([a, b], opts).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'b/source.upstream: triggers form a cycle: ingest -> train (by b) -> ingest (by a); declare policy.maxDepth on one of them to allow it',
    ]);
    expect(emitTriggers([b], { ...opts, templates: { ingest: templates.ingest } }).issues.map((i) => i.message)).toEqual(["no compiled WorkflowTemplate for train; pass the compiler's output in templates"]);
  });

  it('the gate step: same engine, state in and out as JSON strings, run name from the dedupe key', async () => {
    const nd = triggers.find((t) => t.name === 'new-data')!;
    const out = join(tmp, 'g1');
    const d = await runGate(nd, '', JSON.stringify({ uri: 's3://raw/a.csv', rows: 5 }), out, Date.parse('2026-01-01T00:00:00Z'));
    expect([d.kind, d.runId]).toEqual(['fire', readFileSync(join(out, 'run-name'), 'utf8')]);
    const state = JSON.parse(JSON.parse(readFileSync(join(out, 'state.json-string'), 'utf8')) as string) as { recentKeys: string[] };
    expect(state.recentKeys).toEqual(['new-data|uri=s3://raw/a.csv']);
    expect(readFileSync(join(out, 'params', 'epochs.json-string'), 'utf8')).toBe('"5"');
    const again = await runGate(nd, JSON.stringify(state), JSON.stringify({ uri: 's3://raw/a.csv', rows: 5 }), join(tmp, 'g2'));
    expect([again.kind, again.reason]).toEqual(['suppress', 'duplicate: new-data|uri=s3://raw/a.csv already fired']);
  });
});

function order(line: string): number {
  const kindRank = ['Sensor/landed', 'Sensor/new-data', 'CronWorkflow', 'EventSource'].findIndex((k) => line.startsWith(k));
  return kindRank;
}
