// @sluice/cluster against a real kube-apiserver with Argo's CRDs (no controller: the semantics
// of submit, stop, retry, resubmit, watch and logs are checked on objects whose status the test
// writes, the way Argo's controller would).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { ArgoBackend, Kube, KubeConfigError, LABELS, RUN_ID_LABEL, prepareSubmission, submitObjects, SubmitError } from '../../../packages/cluster/src/index.ts';
import { eventFields, type RunEvent } from '../../../packages/sdk/src/index.ts';
import { KubeClient } from '../support/kube/client.ts';
import { repoRoot } from '../support/paths.ts';
import { failedWorkflow } from '../../../packages/cluster/test/fixtures.ts';
import { FaultProxy, writeKubeconfig } from './support.ts';

const run = promisify(execFile);
const provided = inject('kube');
const skip = 'skip' in provided ? provided.skip : undefined;
if (skip) console.warn(`[oracles] skipping cluster client suites: ${skip}`);
const suite = skip ? describe.skip : describe;
const conn = 'conn' in provided ? provided.conn : undefined;
const fixture = path.join(repoRoot, 'packages/bundle/test/fixture/pipeline.ts');
const sluice = path.join(repoRoot, 'packages/runner/bin/sluice.mjs');

type Obj = Record<string, any>;

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [sluice, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

suite('cluster client (kube-apiserver with Argo CRDs)', () => {
  const admin = new KubeClient(conn!);
  const ns = `sluice-cc-${randomBytes(3).toString('hex')}`;
  let kubeconfig: string;
  let kube: Kube;
  let argo: ArgoBackend;
  const wfPath = `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflows`;

  beforeAll(async () => {
    await admin.ensureNamespace(ns);
    // no controller-manager here: the namespace's default service account is ours to create
    await admin.ok('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
    kubeconfig = writeKubeconfig(conn!, { namespace: ns });
    kube = await Kube.connect({ kubeconfig });
    argo = new ArgoBackend(kube);
  });
  afterAll(async () => {
    await admin.request('DELETE', `/api/v1/namespaces/${ns}`);
  });

  async function createWorkflow(wf: Obj): Promise<Obj> {
    const copy = structuredClone(wf);
    copy.metadata.namespace = ns;
    return (await admin.ok('POST', wfPath, copy)) as Obj;
  }

  test('kubeconfig the standard way: file, --context, --namespace, KUBECONFIG; insecure-skip-tls-verify refused', async () => {
    expect(kube.namespace).toBe(ns);
    expect(kube.contextName).toBe('test');
    const other = await Kube.connect({ kubeconfig, context: 'other' });
    expect(other.namespace).toBe('elsewhere');
    expect((await Kube.connect({ kubeconfig, namespace: 'given' })).namespace).toBe('given');
    const prev = process.env.KUBECONFIG;
    process.env.KUBECONFIG = kubeconfig;
    try {
      expect((await Kube.connect()).server).toBe(conn!.server);
    } finally {
      if (prev === undefined) delete process.env.KUBECONFIG; else process.env.KUBECONFIG = prev;
    }
    await expect(Kube.connect({ kubeconfig, context: 'nope' })).rejects.toThrow(/no context "nope" in the kubeconfig; it has: test, other/);
    await expect(Kube.connect({ kubeconfig: writeKubeconfig(conn!, { namespace: ns, insecure: true }) })).rejects.toBeInstanceOf(KubeConfigError);
  });

  test('submit: dry run first, a content-named WorkflowTemplate created then left alone, a Workflow with generateName and labels', async () => {
    const sub = await prepareSubmission(fixture, { namespace: ns, params: { x: '5' } });
    const first = await submitObjects(kube, sub);
    expect(first.templateAction).toBe('created');
    expect(first.workflow).toMatch(/^bundle-fixture-[a-z0-9]{5}$/);
    const wf = (await admin.ok('GET', `${wfPath}/${first.workflow}`)) as Obj;
    expect(wf.metadata.generateName).toBe('bundle-fixture-');
    expect(wf.spec.workflowTemplateRef).toEqual({ name: first.template });
    expect(wf.spec.arguments.parameters).toEqual([{ name: 'x', value: '5' }]);
    expect(wf.metadata.labels[LABELS.pipeline]).toBe('bundle-fixture');
    expect(wf.metadata.labels[LABELS.irHash]).toMatch(/^[0-9a-f]{16}$/);
    expect(wf.metadata.labels[LABELS.gitCommit]).toMatch(/^[0-9a-f]{40}$/);
    // the template runs the bundle from its ConfigMap on the stock image
    const tpl = (await admin.ok('GET', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflowtemplates/${first.template}`)) as Obj;
    const step = tpl.spec.templates.find((t: Obj) => t.container);
    expect(step.container.image).toBe('node:22-slim');
    expect(step.container.command).toEqual(['node', '/sluice/bundle/run.mjs', 'exec']);
    expect(step.container.volumeMounts).toEqual([{ name: 'sluice-bundle', mountPath: '/sluice/bundle', readOnly: true }]);
    const cm = (await admin.ok('GET', `/api/v1/namespaces/${ns}/configmaps/${first.configMap}`)) as Obj;
    expect(gunzipSync(Buffer.from(cm.binaryData['bundle.mjs.gz'], 'base64')).toString('utf8')).toBe(sub.bundle!.code);
    expect(cm.data['run.mjs']).toContain(sub.bundle!.hash);
    expect(cm.immutable).toBe(true);

    // the same pipeline again: the template is left alone, a second Workflow references it
    const second = await submitObjects(kube, await prepareSubmission(fixture, { namespace: ns, params: { x: '6' } }));
    expect(second.templateAction).toBe('unchanged');
    expect(second.template).toBe(first.template);
    expect(second.workflow).not.toBe(first.workflow);
    const templates = (await admin.ok('GET', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflowtemplates?labelSelector=${encodeURIComponent(`${LABELS.pipeline}=bundle-fixture`)}`)) as Obj;
    expect(templates.items).toHaveLength(1);
    // the run id reaches the pods as a label, the same on a resubmission (checkpoints are kept under it)
    expect(wf.spec.podMetadata.labels[RUN_ID_LABEL]).toBe(wf.metadata.labels[RUN_ID_LABEL]);
    expect(step.container.env).toContainEqual({ name: 'SLUICE_RUN_ID', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${RUN_ID_LABEL}']` } } });
  });

  test('checkpoints in S3: the store and a Secret reference in the steps, accepted by the API server', async () => {
    const sub = await prepareSubmission(fixture, { namespace: ns, checkpoints: { endpoint: 'http://127.0.0.1:9000', bucket: 'artifacts', prefix: 'sluice', secret: 's3-creds' } });
    const r = await submitObjects(kube, sub, { dryRun: true });
    expect(r.dryRun).toBe(true);
    const step = (sub.templates.at(-1)!.spec as Obj).templates.find((t: Obj) => t.container);
    expect(step.container.env).toEqual(expect.arrayContaining([
      { name: 'SLUICE_CHECKPOINT_S3', value: JSON.stringify({ endpoint: 'http://127.0.0.1:9000', bucket: 'artifacts', prefix: 'sluice' }) },
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 's3-creds', key: 'accessKey' } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 's3-creds', key: 'secretKey' } } },
    ]));
  });

  test("a manifest the API server rejects stops the submission with the server's message; nothing is stored", async () => {
    const sub = await prepareSubmission(fixture, { namespace: ns });
    const bad = structuredClone(sub) as unknown as { templates: Obj[]; configMap?: Obj; workflow: Obj };
    bad.templates[0]!.spec.templates[0].bogusField = 1;
    bad.templates[0]!.metadata.name = 'never-stored';
    bad.configMap!.metadata.name = 'never-stored-cm';
    const err = await submitObjects(kube, bad as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubmitError);
    expect((err as Error).message).toMatch(/the API server rejected WorkflowTemplate never-stored: .*unknown field "spec\.templates\[0\]\.bogusField"/);
    expect((err as Error).message).toMatch(/nothing was submitted\.$/);
    expect((await admin.request('GET', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflowtemplates/never-stored`)).status).toBe(404);
    expect((await admin.request('GET', `/api/v1/namespaces/${ns}/configmaps/never-stored-cm`)).status).toBe(404);
  });

  test('the CLI: a bad --param is one located message, exit 2, nothing submitted; --dry-run stores nothing', async () => {
    const before = ((await admin.ok('GET', wfPath)) as Obj).items.length;
    const bad = await cli(['submit', fixture, '--kubeconfig', kubeconfig, '-p', 'x=fast']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bundle-fixture\/params\.x: /);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack
    const dry = await cli(['submit', fixture, '--kubeconfig', kubeconfig, '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/dry run: the API server accepts .*nothing was stored/);
    // sluice run --cluster is sluice submit
    const viaRun = await cli(['run', '--cluster', fixture, '--kubeconfig', kubeconfig, '--dry-run']);
    expect(viaRun.code).toBe(0);
    expect(viaRun.stdout).toMatch(/dry run: the API server accepts .*nothing was stored/);
    expect(((await admin.ok('GET', wfPath)) as Obj).items.length).toBe(before);
  }, 180_000);

  test('stop and terminate set spec.shutdown; a finished run is refused', async () => {
    const wf = failedWorkflow('stopme-aaaaa');
    wf.status.phase = 'Running';
    delete wf.spec.shutdown;
    await createWorkflow(wf);
    await argo.stop('stopme-aaaaa', 'stop');
    expect(((await admin.ok('GET', `${wfPath}/stopme-aaaaa`)) as Obj).spec.shutdown).toBe('Stop');
    await argo.stop('stopme-aaaaa', 'terminate');
    expect(((await admin.ok('GET', `${wfPath}/stopme-aaaaa`)) as Obj).spec.shutdown).toBe('Terminate');
    await createWorkflow(failedWorkflow('done-bbbbb'));
    await expect(argo.stop('done-bbbbb')).rejects.toThrow(/already failed: nothing to stop/);
    await expect(argo.stop('missing-ccccc')).rejects.toThrow(/no run missing-ccccc in argo:test\//);
  });

  test('retry resets the failed nodes of a failed Workflow, keeps the succeeded ones, deletes the failed pods', async () => {
    const W = 'retry-ddddd';
    await createWorkflow(failedWorkflow(W));
    const pod = (node: string) => ({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `pod-${node}`, labels: { 'workflows.argoproj.io/workflow': W }, annotations: { 'workflows.argoproj.io/node-id': `${W}-${node}` } },
      spec: { containers: [{ name: 'main', image: 'node:20-slim' }] },
    });
    for (const n of ['prepare', 'train0', 'train1', 'fit0', 'fit1']) await admin.ok('POST', `/api/v1/namespaces/${ns}/pods`, pod(n));
    await argo.retry(W);
    const after = (await admin.ok('GET', `${wfPath}/${W}`)) as Obj;
    expect(after.status.phase).toBe('Running');
    expect(after.spec.shutdown).toBeUndefined();
    expect(after.metadata.labels['workflows.argoproj.io/completed']).toBeUndefined();
    const phase = (id: string) => after.status.nodes[`${W}-${id}`]?.phase;
    expect([phase('prepare'), phase('fit0'), phase('sweep0')]).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    expect([phase('train'), phase('sweep1')]).toEqual(['Running', 'Running']);
    expect([phase('train0'), phase('train1'), phase('fit1'), phase('report')]).toEqual([undefined, undefined, undefined, undefined]);
    const pods = ((await admin.ok('GET', `/api/v1/namespaces/${ns}/pods`)) as Obj).items.map((p: Obj) => p.metadata.name).filter((n: string) => n.startsWith('pod-')).sort();
    // deleted pods linger while terminating only with a kubelet; here they are gone at once
    expect(pods).toEqual(['pod-fit0', 'pod-prepare']);
    await expect(argo.retry(W)).rejects.toThrow(/cannot retry run retry-ddddd while it is Running/);
  });

  test('resubmit --memoized: a new Workflow whose succeeded steps are Skipped "original pod" nodes', async () => {
    const W = 'resub-eeeee';
    await createWorkflow(failedWorkflow(W));
    const next = await argo.resubmit(W, { memoized: true });
    expect(next).toMatch(/^demo-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const wf = (await admin.ok('GET', `${wfPath}/${next}`)) as Obj;
    expect(wf.metadata.labels['workflows.argoproj.io/resubmitted-from-workflow']).toBe(W);
    expect(wf.spec.workflowTemplateRef).toEqual({ name: 'demo-0123456789' });
    const prepare = Object.values(wf.status.nodes as Obj).find((n: Obj) => n.name === `${next}.prepare`) as Obj;
    expect(prepare).toMatchObject({ type: 'Skipped', phase: 'Skipped', message: `original pod: ${W}-prepare` });
    const plain = await argo.resubmit(W);
    expect(((await admin.ok('GET', `${wfPath}/${plain}`)) as Obj).status).toBeUndefined();
  });

  test('watch survives watch expiry (410 as an event and as an answer), 429 and a dropped connection; ends with the run', async () => {
    const W = 'watch-fffff';
    const wf = failedWorkflow(W);
    wf.status.phase = 'Running';
    for (const n of Object.values(wf.status.nodes) as Obj[]) if (n.phase === 'Failed') n.phase = 'Running';
    await createWorkflow(wf);
    const proxy = new FaultProxy(conn!);
    const url = await proxy.start();
    try {
      const isWatch = (_m: string, u: string) => u.includes('watch=1');
      const isList = (m: string, u: string) => m === 'GET' && u.includes('/workflows?') && !u.includes('watch=1');
      proxy.add('410-event', isWatch);
      proxy.add('410', isWatch);
      proxy.add('429', isList);
      proxy.add('drop', isWatch);
      const debug: string[] = [];
      const viaProxy = await Kube.connect({ kubeconfig: writeKubeconfig(conn!, { namespace: ns, server: url, ca: proxy.ca }), debug: (l) => debug.push(l) });
      const events: RunEvent[] = [];
      const watching = new ArgoBackend(viaProxy).watch(W, (e) => events.push(e));
      // the "controller": finish the run once the watcher has been through the faults
      const deadline = Date.now() + 30_000;
      while (proxy.faults.some((f) => !f.used) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(proxy.faults.map((f) => f.used)).toEqual([true, true, true, true]);
      await new Promise((r) => setTimeout(r, 300));
      const cur = (await admin.ok('GET', `${wfPath}/${W}`)) as Obj;
      cur.status.phase = 'Succeeded';
      for (const n of Object.values(cur.status.nodes) as Obj[]) if (n.phase === 'Running') n.phase = 'Succeeded';
      await admin.ok('PUT', `${wfPath}/${W}`, cur);
      const final = await watching;
      expect(final.status).toBe('succeeded');
      expect(events[0]?.type).toBe('run.started');
      expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
      expect(events.filter((e) => e.type === 'task.succeeded').map((e) => eventFields(e).key)).toContain('train');
      // relisted after each expiry: more than one list
      expect(proxy.seen.filter((s) => isList('GET', s.slice(4))).length).toBeGreaterThanOrEqual(3);
      expect(debug.some((l) => /410 Gone/.test(l))).toBe(true);
      expect(debug.join('\n')).not.toContain(conn!.token);
    } finally {
      await proxy.stop();
    }
  });

  test('logs say so when a pod was garbage-collected', async () => {
    const W = 'logs-ggggg';
    await createWorkflow(failedWorkflow(W));
    const out: string[] = [];
    const code = await argo.logs(W, 'prepare', { write: (t) => out.push(t) });
    expect(code).toBe(0);
    expect(out.join('')).toMatch(new RegExp(`the pod of prepare \\(node ${W}-prepare\\) is gone: garbage-collected by the workflow's podGC or deleted`));
    const both: string[] = [];
    await argo.logs(W, 'train', { write: (t) => both.push(t) });
    expect(both.join('')).toMatch(/the pod of train \(attempt 1\)[\s\S]*the pod of train \(attempt 2\)/);
    await expect(argo.logs(W, 'nope', { write: () => {} })).rejects.toThrow(/has no task nope; its tasks: /);
  });

  test('credentials are never printed: a refused token, an unreachable server, the CLI', async () => {
    const token = `${randomBytes(16).toString('hex')}`;
    const wrong = await Kube.connect({ kubeconfig: writeKubeconfig(conn!, { namespace: ns, token }) });
    const err = (await new ArgoBackend(wrong).runs().catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/Unauthorized/);
    expect(err.message).not.toContain(token);
    expect(wrong.redact(`Authorization: Bearer ${token} and ${token}`)).toBe('Authorization: Bearer <redacted> and <redacted>');
    const gone = await Kube.connect({ kubeconfig: writeKubeconfig(conn!, { namespace: ns, token, server: 'https://127.0.0.1:1' }), retryForMs: 500 });
    const e2 = await gone.ok('GET', '/version').catch((e: unknown) => e as Error);
    expect(e2.message).toMatch(/ECONNREFUSED/);
    expect(e2.message).not.toContain(token);
    const r = await cli(['runs', '--store', path.join(repoRoot, '.no-store-h8'), '--cluster', '--kubeconfig', writeKubeconfig(conn!, { namespace: ns, token })], { SLUICE_DEBUG: '1' });
    expect(`${r.stdout}${r.stderr}`).not.toContain(token);
  }, 120_000);

  test('runs and show --cluster name cluster runs by context and namespace', async () => {
    const runs = await argo.runs({ limit: 100 });
    expect(runs.length).toBeGreaterThan(0);
    expect(new Set(runs.map((r) => (r.ref.backend === 'argo' ? `argo:${r.ref.cluster}/${r.ref.namespace}` : r.ref.backend)))).toEqual(new Set([`argo:test/${ns}`]));
    const v = await argo.show('logs-ggggg');
    expect(v).toMatchObject({ id: 'logs-ggggg', pipeline: 'demo', status: 'failed', ref: { backend: 'argo', cluster: 'test', namespace: ns } });
    expect(v.tasks.map((t) => `${t.key}:${t.state}`)).toContain('train:failed');
  });
});
