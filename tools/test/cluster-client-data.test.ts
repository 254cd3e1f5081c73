// What a cluster run carries besides its steps, on Argo's real controller, through the real
// `sluice` binary: a bundle too large for a ConfigMap (it goes to the artifact repository under its
// hash and the host executor places it at /sluice/bundle as the input artifact it is), the content
// hash of every output artifact (recorded by the executor in the pod, read back by `sluice show
// --cluster`, equal to the local run's), and the upstream trigger's exit hook, whose body the
// controller renders with `sprig.dig` over the workflow's outputs (run by the host executor's
// emulated agent pod, posted to a server of this test), with the values of the pipeline's outputs
// wherever they come from.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, onTestFinished, test } from 'vitest';
import type { Pipeline } from '@sluice/sdk';
import { STOCK_IMAGE } from '../../packages/cluster/src/index.ts';
import { emitTriggers, RUNS_EVENT_SOURCE, trigger, upstream, type ArgoObject } from '../../packages/triggers/src/index.ts';
import { KubeClient } from './support/kube/client.ts';
import { repoRoot } from './support/paths.ts';
import { said, sluice, submitted } from './support/cluster/cli.ts';
import { describeWorkflow } from './support/cluster/compare.ts';
import { SERVICE_ADDRESS_ANNOTATION } from './support/cluster/host-executor.ts';
import { getObject, s3Client } from './support/cluster/s3.ts';
import { getWorkflow, parseManifests, sluiceCompile, waitForWorkflow, type Workflow } from './support/cluster/workflows.ts';

const cluster = inject('cluster');
const skip = 'skip' in cluster ? cluster.skip : undefined;
if (skip) console.log(`[cluster] skipping the cluster data suite: ${skip}`);
const API = '/apis/argoproj.io/v1alpha1/namespaces';
const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

interface ArtifactOut { kind: 'artifact'; type: string; hash: string; path: string; uri: string }
interface ShownRun { id: string; status: string; outputs: Record<string, unknown> | null; artifacts?: { name: string; task: string; output: string; type: string; size: number; hash: string }[] }

/** ~1.2 MB of incompressible text, the same every time (sha256 in counter mode, base64). */
function blob(): string {
  const parts: Buffer[] = [];
  for (let i = 0; i < 28_000; i++) parts.push(createHash('sha256').update(`sluice-c1-${i}`).digest());
  return Buffer.concat(parts).toString('base64');
}

describe.skipIf(skip)("data on Argo's controller: a bundle over the ConfigMap limit, output hashes, the upstream exit hook", () => {
  const c = cluster as Exclude<typeof cluster, { skip: string }>;
  const kube = skip ? undefined! : new KubeClient(c.kube);
  const conn = skip ? [] : ['--kubeconfig', c.kube.kubeconfig, '--namespace', c.namespace];
  let scratch = '';
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'sluice-client-data-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  test('a bundle over the ConfigMap limit: submit --watch puts it in S3 under its hash, no ConfigMap, and the steps run it from /sluice/bundle', async () => {
    // inside the repository, so the pipeline resolves zod and @sluice/sdk as a project's would
    const dir = path.join(repoRoot, 'tools/test/fixtures/cluster', `.big-bundle-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const data = blob();
    writeFileSync(path.join(dir, 'blob.ts'), `export const BLOB = '${data}';\n`);
    writeFileSync(
      path.join(dir, 'pipeline.ts'),
      [
        "import { createHash } from 'node:crypto';",
        "import { z } from 'zod';",
        "import { component, Dataset, pipeline } from '@sluice/sdk';",
        "import { BLOB } from './blob.ts';",
        "const digest = component({ name: 'digest', inputs: { salt: z.string() }, outputs: { sha: z.string(), length: z.number().int(), note: Dataset, node: z.string() }, defaults: { cache: false },",
        '  async run({ salt }, ctx) { await ctx.outputs.note.write(`${salt}:${BLOB.length}`); return { sha: createHash(\'sha256\').update(BLOB).digest(\'hex\'), length: BLOB.length, node: process.versions.node }; } });',
        "export const big = pipeline({ name: 'c1-big-bundle', params: { salt: z.string() } }, ({ salt }) => { const d = digest({ salt }); return { sha: d.outputs.sha, length: d.outputs.length, note: d.outputs.note, node: d.outputs.node }; });",
        '',
      ].join('\n'),
    );
    const r = await sluice(['submit', path.relative(repoRoot, path.join(dir, 'pipeline.ts')), '--export', 'big', '-p', 'salt=pepper', '--watch', '--json', ...conn], { timeoutMs: 600_000 });
    expect(r.code, said(r)).toBe(0);
    const first = JSON.parse(r.stdout.split('\n')[0]!) as { workflow: string; configMap?: string; bundle?: string };
    expect(first.configMap).toBeUndefined();
    expect(first.bundle).toMatch(new RegExp(`^s3://${c.s3.bucket}/sluice/bundles/[0-9a-f]{64}/$`));
    const wf = await getWorkflow(kube, c.namespace, first.workflow);
    expect(wf.status?.phase, describeWorkflow(wf, c)).toBe('Succeeded');
    const hash = /bundles\/([0-9a-f]{64})\//.exec(first.bundle!)![1]!;
    expect(wf.metadata.labels?.['sluice.dev/bundle']).toBe(hash.slice(0, 16));
    // nothing in a ConfigMap: the bundle is too large for one
    const cms = (await kube.ok('GET', `/api/v1/namespaces/${c.namespace}/configmaps?labelSelector=${encodeURIComponent(`sluice.dev/bundle=${hash.slice(0, 16)}`)}`)) as { items: unknown[] };
    expect(cms.items).toEqual([]);
    // the objects in the repository are the bundle the pod ran
    const s3 = s3Client(c.s3);
    const loader = (await getObject(s3, c.s3.bucket, `sluice/bundles/${hash}/run.mjs`)).toString('utf8');
    expect(loader).toContain(hash);
    const show = await sluice(['show', first.workflow, '--cluster', '--json', ...conn]);
    expect(show.code, said(show)).toBe(0);
    const view = JSON.parse(show.stdout) as ShownRun;
    expect(view.outputs).toMatchObject({ sha: sha256(data), length: data.length });
    expect((view.outputs?.note as ArtifactOut).hash).toBe(sha256(`pepper:${data.length}`));
    // the step ran on the stock image's Node (the host executor runs node:<major> on that major), with plain node and no node_modules
    const stored = (wf.status as { storedWorkflowTemplateSpec?: { templates?: { name: string; container?: { image?: string } }[] } } | undefined)?.storedWorkflowTemplateSpec;
    const step = stored?.templates?.find((t) => t.name === 'digest');
    expect(step?.container?.image).toBe(STOCK_IMAGE);
    expect(String(view.outputs?.node).split('.')[0]).toBe(/^node:(\d+)/.exec(STOCK_IMAGE)![1]);
  }, 900_000);

  test("output artifacts carry their sha256 on the cluster: show --cluster gives the local run's hashes (a file, one passed on, a directory)", async () => {
    const word = 'lantern';
    const store = path.join(scratch, 'store');
    const local = await sluice(['run', 'tools/test/fixtures/cluster/data.ts', '--export', 'hashes', '-p', `word=${word}`, '--store', store]);
    expect(local.code, said(local)).toBe(0);
    const localShow = await sluice(['show', 'latest', '--store', store, '--json']);
    expect(localShow.code, said(localShow)).toBe(0);
    const localView = JSON.parse(localShow.stdout) as ShownRun;

    const r = await sluice(['submit', 'tools/test/fixtures/cluster/data.ts', '--export', 'hashes', '-p', `word=${word}`, '--watch', '--json', ...conn], { timeoutMs: 600_000 });
    expect(r.code, said(r)).toBe(0);
    const name = submitted(r.stdout);
    const show = await sluice(['show', name, '--cluster', '--json', ...conn]);
    expect(show.code, said(show)).toBe(0);
    const view = JSON.parse(show.stdout) as ShownRun;
    expect(view.status).toBe('succeeded');
    const out = (v: ShownRun, n: string): ArtifactOut => v.outputs?.[n] as ArtifactOut;
    // the file's bytes, hashed here
    expect(out(view, 'table').hash).toBe(sha256(`word,length\n${word},${word.length}\n`));
    for (const n of ['table', 'model', 'copy']) {
      expect(out(view, n).hash, `${n}: cluster ${out(view, n).hash} vs local ${out(localView, n).hash}`).toBe(out(localView, n).hash);
      expect(out(view, n).type).toBe(out(localView, n).type);
    }
    expect(view.outputs?.bytes).toBe(localView.outputs?.bytes);
    // every task's artifacts, with hash and size, as a local run lists them
    const brief = (v: ShownRun) => (v.artifacts ?? []).map((a) => ({ name: a.name, type: a.type, size: a.size, hash: a.hash })).sort((a, b) => a.name.localeCompare(b.name));
    expect(brief(view)).toEqual(brief(localView));
    expect(brief(view).map((a) => a.name)).toEqual(['measure.copy', 'produce.model', 'produce.table']);
    const text = await sluice(['show', name, '--cluster', ...conn]);
    expect(text.stdout).toContain(`sha256:${out(view, 'table').hash.slice(0, 16)}`);
  }, 900_000);

  // One run of the upstream pipeline's announcing template, shared by the two tests below.
  type Announced = { done: Workflow; bodies: { url: string; body: string }[]; when: string };
  let announced: Promise<Announced> | undefined;
  const announce = (): Promise<Announced> => (announced ??= runAnnouncing('tools/test/fixtures/cluster/cron.ts', 'ticker', 'h5-ticker', (dir) => [{ name: 'marks', value: path.join(dir, 'ticks') }, { name: 'when', value: WHEN }]));
  const WHEN = '2026-12-02T05:00:00Z';
  afterAll(async () => {
    for (const f of cleanups.reverse()) await f();
  });
  const cleanups: (() => Promise<void> | void)[] = [];
  /** Applies `file`'s pipeline `exportName` (named `pipeline`) as an upstream trigger's announcing template, runs it once, and collects what its exit hook posts. */
  async function runAnnouncing(file: string, exportName: string, pipelineName: string, args: (scratch: string) => { name: string; value: string }[]): Promise<Announced> {
    const bodies: { url: string; body: string }[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        bodies.push({ url: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;

    // the runs event source's Service, pointing at this test's server (see host-executor.ts)
    const svc = `${RUNS_EVENT_SOURCE}-eventsource-svc`;
    await kube.request('DELETE', `/api/v1/namespaces/${c.namespace}/services/${svc}`);
    await kube.ok('POST', `/api/v1/namespaces/${c.namespace}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: svc, annotations: { [SERVICE_ADDRESS_ANNOTATION]: `127.0.0.1:${port}` } },
      spec: { clusterIP: 'None', ports: [{ port: 12000 }] },
    });
    cleanups.push(async () => {
      await kube.request('DELETE', `/api/v1/namespaces/${c.namespace}/services/${svc}`);
    });

    const upstreamTemplate = parseManifests(sluiceCompile(file, ['--export', exportName, '--kind', 'template']))[0] as unknown as ArgoObject & Workflow;
    const targetTemplate = parseManifests(sluiceCompile('tools/test/fixtures/cluster/client.ts', ['--export', 'gated', '--kind', 'template', '--image', 'sluice-examples:0.1.0']))[0] as unknown as ArgoObject & Workflow;
    const mod = (await import(path.join(repoRoot, file))) as Record<string, Pipeline<any, any>>;
    const { gated } = (await import(path.join(repoRoot, 'tools/test/fixtures/cluster/client.ts'))) as typeof import('./fixtures/cluster/client.ts');
    const t = trigger({ name: 'c1-after-upstream', source: upstream(mod[exportName]!), target: gated, params: (e) => ({ marks: scratch, word: e.runId }) });
    const { objects, issues } = emitTriggers([t.ir], { namespace: c.namespace, image: 'sluice-examples:0.1.0', templates: { [pipelineName]: upstreamTemplate, 'h5-client-gated': targetTemplate } });
    expect(issues).toEqual([]);
    const announcing = structuredClone(objects.find((o) => o.kind === 'WorkflowTemplate' && (o.metadata as { name: string }).name === upstreamTemplate.metadata.name)) as unknown as Workflow;
    expect(announcing, objects.map((o) => `${o.kind}/${(o.metadata as { name: string }).name}`).join(', ')).toBeDefined();
    // its own name: the cron suite may create the compiler's template at the same time
    announcing.metadata = { ...announcing.metadata, name: `${upstreamTemplate.metadata.name.slice(0, 40)}-c1-announce`, namespace: c.namespace };
    await kube.ok('POST', `${API}/${c.namespace}/workflowtemplates`, announcing);
    cleanups.push(async () => {
      await kube.request('DELETE', `${API}/${c.namespace}/workflowtemplates/${announcing.metadata.name}`);
    });
    const wf = (await kube.ok('POST', `${API}/${c.namespace}/workflows`, {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { generateName: 'c1-announce-' },
      spec: { workflowTemplateRef: { name: announcing.metadata.name }, arguments: { parameters: args(scratch) } },
    })) as Workflow;
    const done = await waitForWorkflow(kube, c.namespace, wf.metadata.name, 600_000);
    return { done, bodies, when: WHEN };
  }

  test("the upstream trigger's exit hook runs on the controller: its sprig.dig body is rendered (no evaluation error) and the agent posts the envelope", async () => {
    const { done, bodies } = await announce();
    expect(done.status?.phase, describeWorkflow(done, c)).toBe('Succeeded');
    const hook = Object.values(done.status?.nodes ?? {}).find((n) => n.name === `${done.metadata.name}.onExit`);
    expect(hook?.phase, describeWorkflow(done, c)).toBe('Succeeded');
    expect(bodies.map((b) => b.url)).toEqual(['/runs']);
    const envelope = JSON.parse(bodies[0]!.body) as { pipeline: string; runId: string; status: string; finishedAt: string; outputs: Record<string, unknown> };
    expect(envelope).toMatchObject({ pipeline: 'h5-ticker', runId: done.metadata.name, status: 'succeeded' });
    expect(envelope.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // one key per pipeline output: sprig.dig('outputs', 'parameters', 'seen', nil, workflow) was evaluated
    expect(Object.keys(envelope.outputs)).toEqual(['seen']);
  }, 900_000);

  // Argo v4.0.5 exports no output of the entry DAG to workflow.outputs (dag.go: a DAG's outputs stay
  // on its node), so the producing task's template carries the globalName (packages/triggers
  // src/argo/global-outputs.ts). Before that, the envelope said `"seen": null`.
  test("the exit hook's envelope carries the pipeline output's value (exported by the producing task's template)", async () => {
    const { done, bodies, when } = await announce();
    const envelope = JSON.parse(bodies[0]!.body) as { outputs: Record<string, unknown> };
    expect(envelope.outputs).toEqual({ seen: when });
    expect(done.status?.outputs?.parameters?.map((p) => [p.name, p.value])).toEqual([['seen', when]]);
  }, 900_000);

  test("every kind of output reaches the exit hook: tasks sharing a template (cloned), a nested pipeline, a condition's chosen branch, a parameter passed through", async () => {
    const word = 'lantern';
    const { done, bodies } = await runAnnouncing('tools/test/fixtures/cluster/data.ts', 'shapes', 'c3-announce-shapes', () => [{ name: 'word', value: word }]);
    expect(done.status?.phase, describeWorkflow(done, c)).toBe('Succeeded');
    expect(bodies.map((b) => b.url)).toEqual(['/runs']);
    const envelope = JSON.parse(bodies[0]!.body) as { pipeline: string; status: string; outputs: Record<string, unknown> };
    expect(envelope).toMatchObject({ pipeline: 'c3-announce-shapes', status: 'succeeded' });
    // Argo parameter strings, as from any exit hook (the gate parses them by the declared types)
    expect(envelope.outputs).toEqual({ again: word, chosen: 'long', echo: word, first: word, n: String(word.length), nested: 'deep', second: 'bee' });
    // the same values as the run's own outputs: those the controller evaluated on the entry DAG's node
    const entry = Object.values(done.status?.nodes ?? {}).find((n) => n.name === done.metadata.name);
    expect(Object.fromEntries((entry?.outputs?.parameters ?? []).map((p) => [p.name, p.value]))).toEqual(envelope.outputs);
  }, 900_000);
});
