/**
 * Triggers -> Argo objects. Schedules become a CronWorkflow; data arrival and upstream runs an Argo
 * Events EventSource + Sensor that submits a generated gate WorkflowTemplate; monitors a CronWorkflow
 * running the gate. The gate applies the same engine as the local daemon (`sluice triggers gate`,
 * a pure step), keeps the trigger's state in a ConfigMap updated with resourceVersion
 * compare-and-swap (a `replace` with a stale version fails with Conflict and the step retries), and
 * creates the training Workflow with a name derived from the dedupe key, so a duplicate fails as
 * AlreadyExists. Plus the EventBus and the RBAC all of it needs. Output is deterministic.
 */
import type { SluiceIssue } from '@sluice/sdk';
import { initialState } from '../engine.ts';
import type { TriggerIR } from '../ir.ts';
import { validateTriggerSet } from '../validate.ts';
import { exportPipelineOutputs } from './global-outputs.ts';

export type ArgoObject = { [k: string]: unknown };

export interface EmitOptions {
  readonly namespace: string;
  /** Image with the `sluice` command, for the gate step. */
  readonly image: string;
  /** The compiler's WorkflowTemplate of each target pipeline, by pipeline name (`compile(ir, { kind: 'template' }).objects`). */
  readonly templates: { readonly [pipeline: string]: ArgoObject };
  /** @default 'default' */
  readonly eventBus?: string;
  /** Port of the webhook event sources. @default 12000 */
  readonly webhookPort?: number;
  /** @default 'sluice-triggers' */
  readonly serviceAccount?: string;
  /** Prometheus the monitor gate queries for metric monitors (`http://prometheus.monitoring.svc:9090`). */
  readonly prometheus?: string;
  /**
   * The S3 store of the cluster: drift monitors read their data from it (relative paths under
   * `<prefix>data/`), write window snapshots and drift reports to it, and artifact parameters of a
   * target are passed to its Workflow as S3 artifacts there. Keys from the Secret `secret`
   * (`accesskey`, `secretkey`), referenced, never inlined.
   */
  readonly s3?: { readonly endpoint: string; readonly bucket: string; readonly prefix?: string; readonly secret?: string; readonly region?: string };
}

type Opts = Required<Omit<EmitOptions, 'prometheus' | 's3'>> & Pick<EmitOptions, 'prometheus' | 's3'>;

export interface EmitResult {
  readonly objects: readonly ArgoObject[];
  readonly issues: readonly SluiceIssue[];
}

const API = 'argoproj.io/v1alpha1';
const CONCURRENCY = { allow: 'Allow', skip: 'Forbid', replace: 'Replace' } as const;
/** The shared webhook the upstream workflows' exit hooks post their RunFinishedEnvelope to. */
export const RUNS_EVENT_SOURCE = 'sluice-runs';

function templateParams(t: ArgoObject | undefined): string[] | undefined {
  const spec = t?.spec as { arguments?: { parameters?: { name: string }[] } } | undefined;
  return t ? (spec?.arguments?.parameters ?? []).map((p) => p.name) : undefined;
}

/** Argo parameter name of a Sluice parameter, as the compiler writes it (read back from its template by position in sorted order). */
function argoName(template: ArgoObject, param: string): string {
  const names = templateParams(template) ?? [];
  return names.find((n) => n === param || n === param.replace(/[^A-Za-z0-9_-]/g, '-')) ?? param;
}

function meta(name: string, namespace: string, extra: { [k: string]: string } = {}): ArgoObject {
  return { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'sluice', 'sluice.dev/trigger': extra.trigger ?? name } };
}

/** Whether the policy needs the gate (state, cooldown, ...) or a bare CronWorkflow can carry it. */
function needsGate(ir: TriggerIR): boolean {
  const p = ir.policy;
  return ir.source.kind !== 'schedule' || ir.condition !== null || p.cooldownMs > 0 || p.maxFires !== null || p.concurrency === 'queue';
}

function s3Endpoint(endpoint: string): { endpoint: string; insecure: boolean } {
  const u = new URL(endpoint.includes('://') ? endpoint : `https://${endpoint}`);
  return { endpoint: `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`, insecure: u.protocol === 'http:' };
}

/** Environment of the gate's decide step: Prometheus and the S3 store (keys from the Secret). */
function gateEnv(o: Opts): ArgoObject[] {
  const env: ArgoObject[] = [];
  if (o.prometheus) env.push({ name: 'SLUICE_PROMETHEUS_URL', value: o.prometheus });
  if (o.s3) {
    const secret = o.s3.secret ?? 'sluice-s3';
    env.push(
      { name: 'SLUICE_S3', value: JSON.stringify({ endpoint: o.s3.endpoint, bucket: o.s3.bucket, prefix: o.s3.prefix ?? 'sluice/', ...(o.s3.region ? { region: o.s3.region } : {}) }) },
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: secret, key: 'accesskey' } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: secret, key: 'secretkey' } } },
    );
  }
  return env;
}

function gateTemplate(ir: TriggerIR, o: Opts, target: ArgoObject): ArgoObject {
  const name = `${ir.name}-gate`;
  const targetName = String((target.metadata as { name?: string }).name);
  const params = Object.keys(ir.mapping).sort();
  const isArt = (p: string) => ir.target.params[p]?.kind === 'artifact';
  const values = params.filter((p) => !isArt(p));
  const arts = params.filter(isArt);
  const secret = o.s3?.secret ?? 'sluice-s3';
  const launchManifest = JSON.stringify({
    apiVersion: API, kind: 'Workflow',
    metadata: { name: '{{inputs.parameters.run-name}}', namespace: o.namespace, labels: { 'sluice.dev/trigger': ir.name } },
    spec: {
      workflowTemplateRef: { name: targetName },
      arguments: {
        parameters: values.map((p) => ({ name: argoName(target, p), value: `{{inputs.parameters.p-${p}}}` })),
        // artifact parameters (a data object, the drift report) are S3 artifacts of the Workflow
        ...(arts.length && o.s3 ? { artifacts: arts.map((p) => ({ name: argoName(target, p), s3: { ...s3Endpoint(o.s3!.endpoint), bucket: `{{inputs.parameters.b-${p}}}`, key: `{{inputs.parameters.k-${p}}}`, accessKeySecret: { name: secret, key: 'accesskey' }, secretKeySecret: { name: secret, key: 'secretkey' } } })) } : {}),
      },
    },
  });
  const launchInputs = [{ name: 'run-name' }, ...values.map((p) => ({ name: `p-${p}` })), ...arts.flatMap((p) => [{ name: `b-${p}` }, { name: `k-${p}` }])];
  const launchArgs = [
    { name: 'run-name', value: '{{steps.decide.outputs.parameters.run-name}}' },
    ...values.map((p) => ({ name: `p-${p}`, value: `{{steps.decide.outputs.parameters.p-${p}}}` })),
    ...arts.flatMap((p) => [{ name: `b-${p}`, value: `{{steps.decide.outputs.parameters.b-${p}}}` }, { name: `k-${p}`, value: `{{steps.decide.outputs.parameters.k-${p}}}` }]),
  ];
  return {
    apiVersion: API, kind: 'WorkflowTemplate', metadata: meta(name, o.namespace, { trigger: ir.name }),
    spec: {
      entrypoint: 'gate', serviceAccountName: o.serviceAccount,
      arguments: { parameters: [{ name: 'event', value: '{}' }] },
      // one gate at a time per trigger: the state's compare-and-swap is the guard, the mutex keeps retries rare
      synchronization: { mutexes: [{ name: `sluice-trigger-${ir.name}` }] },
      volumes: [{ name: 'trigger', configMap: { name: `${ir.name}-trigger` } }],
      templates: [
        {
          name: 'gate',
          steps: [
            [{ name: 'read-state', template: 'read-state' }],
            [{ name: 'decide', template: 'decide', arguments: { parameters: [{ name: 'state', value: '{{steps.read-state.outputs.parameters.state}}' }, { name: 'event', value: '{{workflow.parameters.event}}' }] } }],
            [{ name: 'save-state', template: 'save-state', arguments: { parameters: [{ name: 'state', value: '{{steps.decide.outputs.parameters.state}}' }, { name: 'resource-version', value: '{{steps.read-state.outputs.parameters.resource-version}}' }] } }],
            [{
              name: 'launch', template: 'launch', when: "'{{steps.decide.outputs.parameters.decision}}' == 'fire'",
              arguments: { parameters: launchArgs },
            }],
          ],
        },
        {
          name: 'read-state',
          resource: { action: 'get', manifest: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${ir.name}-state`, namespace: o.namespace } }) },
          outputs: { parameters: [{ name: 'state', valueFrom: { jsonPath: '{.data.state}' } }, { name: 'resource-version', valueFrom: { jsonPath: '{.metadata.resourceVersion}' } }] },
        },
        {
          name: 'decide',
          inputs: { parameters: [{ name: 'state' }, { name: 'event' }] },
          container: {
            image: o.image, command: ['sluice', 'triggers', 'gate'], args: ['--ir', '/etc/sluice/trigger.json', '--out', '/tmp/gate'],
            env: [{ name: 'SLUICE_GATE_STATE', value: '{{inputs.parameters.state}}' }, { name: 'SLUICE_GATE_EVENT', value: '{{inputs.parameters.event}}' }, ...(ir.source.kind === 'monitor' || arts.length ? gateEnv(o) : [])],
            volumeMounts: [{ name: 'trigger', mountPath: '/etc/sluice', readOnly: true }],
          },
          outputs: {
            parameters: [
              { name: 'decision', valueFrom: { path: '/tmp/gate/decision' } }, { name: 'run-name', valueFrom: { path: '/tmp/gate/run-name', default: 'none' } },
              { name: 'state', valueFrom: { path: '/tmp/gate/state.json-string' } },
              ...values.map((p) => ({ name: `p-${p}`, valueFrom: { path: `/tmp/gate/params/${p}.json-string`, default: '""' } })),
              ...arts.flatMap((p) => [{ name: `b-${p}`, valueFrom: { path: `/tmp/gate/params/${p}.bucket`, default: '' } }, { name: `k-${p}`, valueFrom: { path: `/tmp/gate/params/${p}.key`, default: '' } }]),
            ],
          },
        },
        {
          name: 'save-state',
          inputs: { parameters: [{ name: 'state' }, { name: 'resource-version' }] },
          retryStrategy: { limit: 3 },
          resource: {
            action: 'replace',
            manifest: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":${JSON.stringify(`${ir.name}-state`)},"namespace":${JSON.stringify(o.namespace)},"resourceVersion":"{{inputs.parameters.resource-version}}"},"data":{"state":{{inputs.parameters.state}}}}`,
          },
        },
        { name: 'launch', inputs: { parameters: launchInputs }, resource: { action: 'create', manifest: launchManifest.replace(/"\{\{inputs\.parameters\.(p-[^}]+)\}\}"/g, '{{inputs.parameters.$1}}') } },
      ],
    },
  };
}

function configMaps(ir: TriggerIR, o: Opts): ArgoObject[] {
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`${ir.name}-trigger`, o.namespace, { trigger: ir.name }), data: { 'trigger.json': JSON.stringify(ir) } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`${ir.name}-state`, o.namespace, { trigger: ir.name }), data: { state: JSON.stringify(initialState()) } },
  ];
}

/** Workflow arguments for a direct CronWorkflow: constants, and `{{workflow.scheduledTime}}` for the schedule's time. */
function cronArguments(ir: TriggerIR, target: ArgoObject, issues: SluiceIssue[]): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const p of Object.keys(ir.mapping).sort()) {
    const m = ir.mapping[p]!;
    let value: string;
    if (m.kind === 'field') value = m.field === 'scheduledTime' ? '{{workflow.scheduledTime}}' : (ir.source as { timezone: string }).timezone;
    else {
      value = typeof m.value === 'string' ? m.value : JSON.stringify(m.value);
      if (value.includes('{{')) { issues.push({ code: 'argo.literal', path: `${ir.name}/params.${p}`, message: `constant ${JSON.stringify(value)} contains "{{", which Argo would read as an expression` }); continue; }
    }
    out.push({ name: argoName(target, p), value });
  }
  return out;
}

function sensor(ir: TriggerIR, o: Opts, dep: { eventSourceName: string; eventName: string; dataKey: string; filters?: ArgoObject }): ArgoObject {
  return {
    apiVersion: API, kind: 'Sensor', metadata: meta(ir.name, o.namespace),
    spec: {
      eventBusName: o.eventBus,
      template: { serviceAccountName: o.serviceAccount },
      dependencies: [{ name: 'event', eventSourceName: dep.eventSourceName, eventName: dep.eventName, ...(dep.filters ? { filters: dep.filters } : {}) }],
      triggers: [{
        template: {
          name: 'gate',
          argoWorkflow: {
            operation: 'submit',
            source: { resource: { apiVersion: API, kind: 'Workflow', metadata: { generateName: `${ir.name}-gate-`, namespace: o.namespace }, spec: { workflowTemplateRef: { name: `${ir.name}-gate` }, arguments: { parameters: [{ name: 'event', value: '{}' }] } } } },
            parameters: [{ src: { dependencyName: 'event', dataKey: dep.dataKey }, dest: 'spec.arguments.parameters.0.value' }],
          },
        },
        retryStrategy: { steps: 3, duration: '2s', factor: 2 },
      }],
    },
  };
}

/**
 * The upstream pipeline's WorkflowTemplate with a workflow exit hook that posts the
 * RunFinishedEnvelope to the `sluice-runs` event source (apply it in place of the compiler's).
 * Status is Argo's, lower-cased: succeeded, failed or error.
 */
function announcing(template: ArgoObject, pipeline: string, o: Opts): ArgoObject {
  const t = structuredClone(template) as O;
  // the pipeline's parameter outputs, exported to workflow.outputs by their producing tasks; a failed run may lack them
  const values = exportPipelineOutputs(t.spec, t.metadata);
  const outputs = [...values].map(([n, v]) => `${JSON.stringify(n)}:{{=sprig.toJson(${v})}}`).join(',');
  const body = `{"pipeline":${JSON.stringify(pipeline)},"runId":"{{workflow.name}}","status":"{{=sprig.lower(workflow.status)}}","finishedAt":"{{=sprig.date('2006-01-02T15:04:05Z', sprig.now())}}","outputs":{${outputs}}}`;
  t.spec.hooks = { ...(t.spec.hooks ?? {}), exit: { template: 'sluice-announce' } };
  t.spec.templates = [...t.spec.templates, {
    name: 'sluice-announce',
    http: { url: `http://${RUNS_EVENT_SOURCE}-eventsource-svc.${o.namespace}.svc:${o.webhookPort}/runs`, method: 'POST', headers: [{ name: 'Content-Type', value: 'application/json' }], body, timeoutSeconds: 30 },
  }];
  t.metadata = { ...t.metadata, annotations: { ...(t.metadata?.annotations ?? {}), 'sluice.dev/announces-to': RUNS_EVENT_SOURCE } };
  return t;
}

/**
 * Emits the Argo objects of a set of triggers, with the issues found (an object set with issues
 * must not be applied). Cross-object checks run on the result ({@link checkArgoObjects}).
 */
export function emitTriggers(triggers: readonly TriggerIR[], options: EmitOptions): EmitResult {
  const o: Opts = { eventBus: 'default', webhookPort: 12000, serviceAccount: 'sluice-triggers', ...options };
  const issues: SluiceIssue[] = [...validateTriggerSet(triggers)];
  const objects: ArgoObject[] = [];
  const eventSources = new Map<string, ArgoObject>();
  let upstreamUsed = false;
  for (const ir of [...triggers].sort((a, b) => a.name.localeCompare(b.name))) {
    const target = o.templates[ir.target.pipeline];
    if (!target) { issues.push({ code: 'argo.template', path: `${ir.name}/target`, message: `no compiled WorkflowTemplate for ${ir.target.pipeline}; pass the compiler's output in templates` }); continue; }
    const targetName = String((target.metadata as { name?: string }).name);
    const s = ir.source;
    const gate = needsGate(ir);
    for (const p of Object.keys(ir.mapping).sort()) {
      if (ir.target.params[p]?.kind === 'artifact' && !o.s3) issues.push({ code: 'argo.s3', path: `${ir.name}/params.${p}`, message: `"${p}" is an artifact parameter: on the cluster it is passed as an S3 artifact; give the S3 store (s3 option, --s3-endpoint and --s3-bucket)` });
    }
    if (s.kind === 'monitor' && s.check.kind === 'metric' && !s.check.query) issues.push({ code: 'argo.metric', path: `${ir.name}/source.monitor.metric.query`, message: `on the cluster a metric monitor reads Prometheus: give query (the local daemon reads ${s.check.pipeline}.${s.check.output} from the run store)` });
    if (s.kind === 'monitor' && s.check.kind === 'metric' && s.check.query && !o.prometheus) issues.push({ code: 'argo.metric', path: `${ir.name}/source.monitor.metric`, message: 'a metric monitor needs Prometheus on the cluster: give its URL (prometheus option, --prometheus)' });
    if (s.kind === 'monitor' && s.check.kind === 'drift') {
      const c = s.check;
      if (!o.s3) issues.push({ code: 'argo.s3', path: `${ir.name}/source.monitor.drift`, message: 'a drift monitor reads its data from S3 on the cluster: give the S3 store (s3 option, --s3-endpoint and --s3-bucket)' });
      const paths: [string, string | undefined][] = [['current.path', c.current.path], ['reference', c.reference.kind === 'path' ? c.reference.path : c.reference.fallback]];
      for (const [k, v] of paths) if (v !== undefined && (v.startsWith('/') || (/^[a-z]+:\/\//.test(v) && !v.startsWith('s3://')))) issues.push({ code: 'argo.path', path: `${ir.name}/source.monitor.drift.${k}`, message: `"${v}" cannot be read on the cluster: give an s3:// URI or a path relative to the data directory (it is read from the S3 store's data/ there)` });
    }
    if (gate) objects.push(gateTemplate(ir, o, target), ...configMaps(ir, o));
    if (s.kind === 'schedule' || s.kind === 'monitor') {
      const workflowSpec = gate
        ? { workflowTemplateRef: { name: `${ir.name}-gate` }, arguments: { parameters: [{ name: 'event', value: s.kind === 'schedule' ? `{"scheduledTime":"{{workflow.scheduledTime}}","timezone":${JSON.stringify(s.timezone)}}` : `{"scheduledTime":"{{workflow.scheduledTime}}","measure":true}` }] } }
        : { workflowTemplateRef: { name: targetName }, arguments: { parameters: cronArguments(ir, target, issues) } };
      objects.push({
        apiVersion: API, kind: 'CronWorkflow', metadata: meta(ir.name, o.namespace),
        spec: {
          schedules: [s.cron], timezone: s.timezone,
          // the gate applies queue/cooldown itself; one gate at a time
          concurrencyPolicy: gate ? 'Forbid' : CONCURRENCY[ir.policy.concurrency as keyof typeof CONCURRENCY],
          startingDeadlineSeconds: Math.floor(s.catchUpMs / 1000),
          workflowMetadata: { labels: { 'sluice.dev/trigger': ir.name } },
          workflowSpec,
        },
      });
      continue;
    }
    if (s.kind === 'upstream') {
      upstreamUsed = true;
      objects.push(sensor(ir, o, {
        eventSourceName: RUNS_EVENT_SOURCE, eventName: 'finished', dataKey: 'body',
        // Argo's Error is a failure too
        filters: { data: [{ path: 'body.pipeline', type: 'string', value: [s.pipeline] }, { path: 'body.status', type: 'string', value: [...s.statuses, ...(s.statuses.includes('failed') ? ['error'] : [])] }] },
      }));
      continue;
    }
    const l = s.location;
    const esName = `${ir.name}-source`;
    let spec: ArgoObject;
    if (l.kind === 'webhook') spec = { webhook: { arrival: { port: String(o.webhookPort), endpoint: l.endpoint, method: 'POST', url: '' } }, service: { ports: [{ port: o.webhookPort, targetPort: o.webhookPort }] } };
    else if (l.kind === 's3') {
      // Argo Events' `minio` source listens to a MinIO server's bucket notifications (a MinIO API);
      // AWS S3 delivers its notifications through SNS or SQS instead, which this version does not emit.
      if (l.endpoint === undefined) { issues.push({ code: 'argo.s3', path: `${ir.name}/source.data.s3.endpoint`, message: 'no endpoint: AWS S3 sends bucket notifications through SNS/SQS, which this version does not compile; give the endpoint of a MinIO server (http://host:port)' }); continue; }
      const url = new URL(l.endpoint);
      spec = {
        minio: {
          arrival: {
            bucket: { name: l.bucket }, endpoint: `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`, events: ['s3:ObjectCreated:*'], filter: { prefix: l.prefix, suffix: '' },
            insecure: url.protocol === 'http:', ...(l.region ? { region: l.region } : {}),
            accessKey: { name: l.credentials.secret, key: 'accesskey' }, secretKey: { name: l.credentials.secret, key: 'secretkey' },
          },
        },
      };
    } else {
      spec = { file: { arrival: { eventType: 'CREATE', watchPathConfig: { directory: l.path.endsWith('/') ? l.path : `${l.path}/`, pathRegexp: `^${l.pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$` }, polling: false } } };
    }
    eventSources.set(esName, { apiVersion: API, kind: 'EventSource', metadata: meta(esName, o.namespace, { trigger: ir.name }), spec: { eventBusName: o.eventBus, ...spec } });
    // what each source puts in the event's data: webhook {header, body}; minio {notification: [record]}; file {name, op}
    objects.push(sensor(ir, o, { eventSourceName: esName, eventName: 'arrival', dataKey: l.kind === 'webhook' ? 'body' : l.kind === 's3' ? 'notification.0' : '@this' }));
  }
  // upstream pipelines announce their end from an exit hook (it runs whatever the outcome)
  const upstreams = [...new Set(triggers.flatMap((t) => (t.source.kind === 'upstream' ? [t.source.pipeline] : [])))].sort();
  for (const p of upstreams) {
    const tpl = o.templates[p];
    if (tpl) objects.push(announcing(tpl, p, o));
    else issues.push({ code: 'argo.upstream', path: `upstream/${p}`, message: `no compiled WorkflowTemplate for upstream pipeline ${p}: its runs could not announce that they finished` });
  }
  if (upstreamUsed) {
    eventSources.set(RUNS_EVENT_SOURCE, {
      apiVersion: API, kind: 'EventSource', metadata: meta(RUNS_EVENT_SOURCE, o.namespace, { trigger: 'upstream' }),
      spec: { eventBusName: o.eventBus, service: { ports: [{ port: o.webhookPort, targetPort: o.webhookPort }] }, webhook: { finished: { port: String(o.webhookPort), endpoint: '/runs', method: 'POST', url: '' } } },
    });
  }
  objects.push(...[...eventSources.values()]);
  objects.push(
    { apiVersion: API, kind: 'EventBus', metadata: meta(o.eventBus, o.namespace, { trigger: 'all' }), spec: { jetstream: { version: 'latest' } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(o.serviceAccount, o.namespace, { trigger: 'all' }) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(o.serviceAccount, o.namespace, { trigger: 'all' }),
      rules: [
        { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['create', 'get', 'list', 'watch'] },
        { apiGroups: ['argoproj.io'], resources: ['workflowtemplates'], verbs: ['get', 'list'] },
        { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta(o.serviceAccount, o.namespace, { trigger: 'all' }),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: o.serviceAccount },
      subjects: [{ kind: 'ServiceAccount', name: o.serviceAccount, namespace: o.namespace }],
    },
  );
  issues.push(...checkArgoObjects(objects, Object.values(o.templates)));
  return { objects, issues };
}

const OPERATIONS = ['submit', 'resubmit', 'resume', 'retry', 'suspend', 'terminate', 'stop'];
const FILTER_TYPES = ['string', 'number', 'bool'];
const COMPARATORS = ['>=', '>', '=', '!=', '<', '<='];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
const FILE_EVENTS = ['CREATE', 'WRITE', 'REMOVE', 'RENAME', 'CHMOD'];

type O = { [k: string]: any };

/**
 * What the schemaless Sensor CRD (and the JSON Schema without enums) cannot check: enums, references
 * between objects (event source and event names, event bus, workflow templates, service accounts),
 * the Workflow embedded in a Sensor trigger, and the indices of trigger parameters.
 */
export function checkArgoObjects(objects: readonly ArgoObject[], external: readonly ArgoObject[] = []): SluiceIssue[] {
  const issues: SluiceIssue[] = [];
  const all = [...objects, ...external] as O[];
  const named = (kind: string) => new Map(all.filter((x) => x.kind === kind).map((x) => [x.metadata?.name as string, x]));
  const buses = named('EventBus');
  const sources = named('EventSource');
  const templates = named('WorkflowTemplate');
  const accounts = named('ServiceAccount');
  const at = (x: O, path: string, code: string, message: string) => issues.push({ code, path: `${x.kind}/${x.metadata?.name}${path ? `/${path}` : ''}`, message });
  const checkRef = (x: O, path: string, name: unknown) => {
    if (!templates.has(name as string)) at(x, path, 'argo.ref', `workflowTemplateRef "${String(name)}" names no WorkflowTemplate (there are: ${[...templates.keys()].sort().join(', ') || 'none'})`);
  };
  for (const x of objects as O[]) {
    if (x.kind === 'EventSource') {
      if (!buses.has(x.spec?.eventBusName ?? 'default')) at(x, 'spec.eventBusName', 'argo.ref', `event bus "${x.spec?.eventBusName}" is not defined`);
      for (const [ev, w] of Object.entries((x.spec?.webhook ?? {}) as O)) if (!METHODS.includes(w.method)) at(x, `spec.webhook.${ev}.method`, 'argo.enum', `method "${w.method}" is not one of ${METHODS.join(', ')}`);
      for (const [ev, f] of Object.entries((x.spec?.file ?? {}) as O)) if (!FILE_EVENTS.includes(f.eventType)) at(x, `spec.file.${ev}.eventType`, 'argo.enum', `eventType "${f.eventType}" is not one of ${FILE_EVENTS.join(', ')}`);
    }
    if (x.kind === 'Sensor') {
      const spec = x.spec ?? {};
      if (!buses.has(spec.eventBusName ?? 'default')) at(x, 'spec.eventBusName', 'argo.ref', `event bus "${spec.eventBusName}" is not defined`);
      const sa = spec.template?.serviceAccountName;
      if (sa && !accounts.has(sa)) at(x, 'spec.template.serviceAccountName', 'argo.ref', `service account "${sa}" is not defined`);
      const deps = new Set<string>();
      (spec.dependencies ?? []).forEach((d: O, i: number) => {
        deps.add(d.name);
        const es = sources.get(d.eventSourceName);
        if (!es) at(x, `spec.dependencies[${i}].eventSourceName`, 'argo.ref', `event source "${d.eventSourceName}" is not defined`);
        else {
          const events = Object.entries(es.spec ?? {}).filter(([k, v]) => !['eventBusName', 'service', 'template', 'replicas'].includes(k) && typeof v === 'object').flatMap(([, v]) => Object.keys(v as O));
          if (!events.includes(d.eventName)) at(x, `spec.dependencies[${i}].eventName`, 'argo.ref', `event source "${d.eventSourceName}" has no event "${d.eventName}" (it has ${events.join(', ')})`);
        }
        (d.filters?.data ?? []).forEach((f: O, j: number) => {
          if (!FILTER_TYPES.includes(f.type)) at(x, `spec.dependencies[${i}].filters.data[${j}].type`, 'argo.enum', `filter type "${f.type}" is not one of ${FILTER_TYPES.join(', ')}`);
          if (f.comparator !== undefined && !COMPARATORS.includes(f.comparator)) at(x, `spec.dependencies[${i}].filters.data[${j}].comparator`, 'argo.enum', `comparator "${f.comparator}" is not one of ${COMPARATORS.join(' ')}`);
        });
      });
      (spec.triggers ?? []).forEach((t: O, i: number) => {
        const aw = t.template?.argoWorkflow;
        if (!aw) return;
        const p = `spec.triggers[${i}].template.argoWorkflow`;
        if (!OPERATIONS.includes(aw.operation ?? 'submit')) at(x, `${p}.operation`, 'argo.enum', `operation "${aw.operation}" is not one of ${OPERATIONS.join(', ')}`);
        const wf = aw.source?.resource;
        if (!wf || wf.kind !== 'Workflow' || wf.apiVersion !== API) { at(x, `${p}.source.resource`, 'argo.embedded', `the embedded object must be an ${API} Workflow, found ${wf ? `${wf.apiVersion} ${wf.kind}` : 'nothing'}`); return; }
        if (!wf.metadata?.name && !wf.metadata?.generateName) at(x, `${p}.source.resource.metadata`, 'argo.embedded', 'the embedded Workflow needs a name or generateName');
        if (wf.spec?.workflowTemplateRef) checkRef(x, `${p}.source.resource.spec.workflowTemplateRef`, wf.spec.workflowTemplateRef.name);
        else if (!wf.spec?.templates?.length) at(x, `${p}.source.resource.spec`, 'argo.embedded', 'the embedded Workflow has neither workflowTemplateRef nor templates');
        const n = (wf.spec?.arguments?.parameters ?? []).length;
        (aw.parameters ?? []).forEach((tp: O, j: number) => {
          if (tp.src && !deps.has(tp.src.dependencyName)) at(x, `${p}.parameters[${j}].src.dependencyName`, 'argo.ref', `dependency "${tp.src.dependencyName}" is not declared (${[...deps].join(', ')})`);
          const m = /^spec\.arguments\.parameters\.(\d+)\.value$/.exec(tp.dest ?? '');
          if (!m) at(x, `${p}.parameters[${j}].dest`, 'argo.param', `dest "${tp.dest}" must be spec.arguments.parameters.<index>.value`);
          else if (Number(m[1]) >= n) at(x, `${p}.parameters[${j}].dest`, 'argo.param', `dest "${tp.dest}": the embedded Workflow has ${n} parameter${n === 1 ? '' : 's'} (indices 0..${n - 1})`);
        });
      });
    }
    if (x.kind === 'CronWorkflow') {
      if (!x.spec?.timezone) at(x, 'spec.timezone', 'argo.timezone', 'timezone must always be written');
      if (!['Allow', 'Forbid', 'Replace'].includes(x.spec?.concurrencyPolicy)) at(x, 'spec.concurrencyPolicy', 'argo.enum', `concurrencyPolicy "${x.spec?.concurrencyPolicy}" is not one of Allow, Forbid, Replace`);
      if (x.spec?.workflowSpec?.workflowTemplateRef) checkRef(x, 'spec.workflowSpec.workflowTemplateRef', x.spec.workflowSpec.workflowTemplateRef.name);
    }
    if (x.kind === 'WorkflowTemplate' && x.spec?.serviceAccountName && !accounts.has(x.spec.serviceAccountName)) at(x, 'spec.serviceAccountName', 'argo.ref', `service account "${x.spec.serviceAccountName}" is not defined`);
  }
  return issues;
}
