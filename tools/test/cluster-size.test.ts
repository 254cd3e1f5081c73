// A wide pipeline on the test cluster: SLUICE_CLUSTER_FANOUT (default 1000) container steps in one
// forEach, 50 at a time, compiled by `sluice compile` and run to success by Argo's controller.
import { describe, expect, inject, it } from 'vitest';
import { KubeClient } from './support/kube/client.ts';
import { said, sluice } from './support/cluster/cli.ts';
import { describeWorkflow } from './support/cluster/compare.ts';
import { parseManifest, podNodes, sluiceCompile, submitWorkflow, waitForWorkflow } from './support/cluster/workflows.ts';

const cluster = inject('cluster');
const skip = 'skip' in cluster ? cluster.skip : undefined;
const n = Number(process.env.SLUICE_CLUSTER_FANOUT ?? 1000);

describe.skipIf(skip)('size on the cluster', () => {
  const c = cluster as Exclude<typeof cluster, { skip: string }>;
  it(`a ${n}-task fan-out runs to success: every task once`, async () => {
    const kube = new KubeClient(c.kube);
    const wf = parseManifest(sluiceCompile('tools/test/fixtures/cluster/parity.ts', ['--export', 'fanout']));
    const t0 = Date.now();
    const name = await submitWorkflow(kube, c.namespace, wf);
    const done = await waitForWorkflow(kube, c.namespace, name, 1_500_000);
    const secs = (Date.now() - t0) / 1000;
    console.log(`[cluster] ${n}-task fan-out: ${done.status?.phase} in ${secs}s`);
    expect(done.status?.phase, describeWorkflow(done, c).slice(0, 4000)).toBe('Succeeded');
    const pods = podNodes(done);
    expect(pods.filter((p) => p.phase === 'Succeeded')).toHaveLength(n);
    expect(new Set(pods.map((p) => p.inputs?.parameters?.find((x) => x.name === 'i')?.value)).size).toBe(n);
    // The cluster client sees every task, whether the controller stored the node status plain or,
    // over its 1 MiB limit (the 1,000-task run), gzipped in status.compressedNodes.
    const raw = (await kube.ok('GET', `/apis/argoproj.io/v1alpha1/namespaces/${c.namespace}/workflows/${name}`)) as { status?: { compressedNodes?: string } };
    console.log(`[cluster] ${n}-task fan-out: node status ${raw.status?.compressedNodes ? `compressed (${raw.status.compressedNodes.length} bytes of base64)` : 'plain'}`);
    const show = await sluice(['show', name, '--cluster', '--json', '--kubeconfig', c.kube.kubeconfig, '--namespace', c.namespace]);
    expect(show.code, said(show)).toBe(0);
    const tasks = (JSON.parse(show.stdout) as { tasks: { key: string; state: string }[] }).tasks;
    expect(tasks.filter((t) => /^wide\[\d+\]\//.test(t.key) && t.state === 'succeeded'), tasks.slice(0, 5).map((t) => `${t.key} ${t.state}`).join(', ')).toHaveLength(n);
  }, 1_600_000);
});
