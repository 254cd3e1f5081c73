// Issue 11's last row on the real controller: a schedule trigger compiled by @sluice/triggers
// (emitTriggers: a bare schedule is a CronWorkflow referencing the target's WorkflowTemplate)
// is created on the test cluster, and Argo's own cron controller (inside the workflow-controller
// binary) creates a Workflow from it at the next minute, which runs to success with the
// scheduled time as its parameter.
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { emitTriggers, schedule, trigger, type ArgoObject } from '../../packages/triggers/src/index.ts';
import { KubeClient } from './support/kube/client.ts';
import { repoRoot } from './support/paths.ts';
import { describeWorkflow } from './support/cluster/compare.ts';
import { parseManifests, waitForWorkflow, type Workflow } from './support/cluster/workflows.ts';
import { sluiceCompile } from './support/cluster/workflows.ts';

const cluster = inject('cluster');
const skip = 'skip' in cluster ? cluster.skip : undefined;
if (skip) console.log(`[cluster] skipping the CronWorkflow suite: ${skip}`);
const FIXTURE = 'tools/test/fixtures/cluster/cron.ts';
const API = '/apis/argoproj.io/v1alpha1/namespaces';

describe.skipIf(skip)("a schedule trigger on Argo's controller", () => {
  const c = cluster as Exclude<typeof cluster, { skip: string }>;
  const kube = skip ? undefined! : new KubeClient(c.kube);

  it('compiled to a CronWorkflow, it fires at the next minute: the controller creates a Workflow that succeeds with the scheduled time', async () => {
    const marks = mkdtempSync(path.join(tmpdir(), 'sluice-cron-'));
    onTestFinished(() => rmSync(marks, { recursive: true, force: true }));
    const template = parseManifests(sluiceCompile(FIXTURE, ['--export', 'ticker', '--kind', 'template']))[0] as unknown as ArgoObject & Workflow;
    expect(template.kind).toBe('WorkflowTemplate');
    const { ticker } = (await import(path.join(repoRoot, FIXTURE))) as typeof import('./fixtures/cluster/cron.ts');
    const t = trigger({
      name: 'h5-every-minute',
      source: schedule({ cron: '* * * * *', timezone: 'Etc/UTC', catchUp: '1m' }),
      target: ticker,
      params: (e) => ({ marks, when: e.scheduledTime }),
    });
    const { objects, issues } = emitTriggers([t.ir], { namespace: c.namespace, image: 'sluice-examples:0.1.0', templates: { 'h5-ticker': template } });
    expect(issues).toEqual([]);
    const cron = objects.find((o) => o.kind === 'CronWorkflow') as { metadata: { name: string }; spec: { schedules: string[]; workflowSpec: { workflowTemplateRef?: { name: string } } } };
    expect(cron.spec.schedules).toEqual(['* * * * *']);
    expect(cron.spec.workflowSpec.workflowTemplateRef?.name).toBe(template.metadata.name);

    await kube.ok('POST', `${API}/${c.namespace}/workflowtemplates`, template);
    onTestFinished(async () => {
      await kube.request('DELETE', `${API}/${c.namespace}/workflowtemplates/${template.metadata.name}`);
    });
    const created = Date.now();
    await kube.ok('POST', `${API}/${c.namespace}/cronworkflows`, cron);
    onTestFinished(async () => {
      await kube.request('DELETE', `${API}/${c.namespace}/cronworkflows/${cron.metadata.name}`);
    });

    // Argo's cron controller names what it creates by the CronWorkflow and labels it.
    const sel = encodeURIComponent(`workflows.argoproj.io/cron-workflow=${cron.metadata.name}`);
    let fired: Workflow | undefined;
    while (!fired && Date.now() - created < 150_000) {
      const list = (await kube.ok('GET', `${API}/${c.namespace}/workflows?labelSelector=${sel}`)) as { items: Workflow[] };
      fired = list.items[0];
      if (!fired) await sleep(1000);
    }
    expect(fired, 'no Workflow from the CronWorkflow within 150 s').toBeDefined();
    // Stop further firings before waiting (the test wants one).
    await kube.request('DELETE', `${API}/${c.namespace}/cronworkflows/${cron.metadata.name}`);
    expect(fired!.metadata.labels?.['sluice.dev/trigger']).toBe('h5-every-minute');
    const done = await waitForWorkflow(kube, c.namespace, fired!.metadata.name);
    expect(done.status?.phase, describeWorkflow(done, c)).toBe('Succeeded');
    // The step saw the scheduled time (a minute boundary, after the CronWorkflow was created).
    const ticks = readdirSync(marks).filter((f) => f.startsWith('tick-'));
    expect(ticks).toHaveLength(1);
    const when = readFileSync(path.join(marks, ticks[0]!), 'utf8');
    const at = Date.parse(when);
    expect(Number.isNaN(at), `scheduled time ${when}`).toBe(false);
    expect(new Date(at).getUTCSeconds()).toBe(0);
    expect(at).toBeGreaterThan(created - 60_000);
    expect(existsSync(marks)).toBe(true);
  }, 300_000);
});
