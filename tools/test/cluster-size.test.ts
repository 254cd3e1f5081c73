// A wide pipeline on the test cluster: SLUICE_CLUSTER_FANOUT (default 1000) container steps in one
// forEach, 50 at a time, compiled by `sluice compile` and run to success by Argo's controller.
import { describe, expect, inject, it } from 'vitest';
import { KubeClient } from './support/kube/client.ts';
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
    const done = await waitForWorkflow(kube, c.namespace, await submitWorkflow(kube, c.namespace, wf), 1_500_000);
    const secs = (Date.now() - t0) / 1000;
    console.log(`[cluster] ${n}-task fan-out: ${done.status?.phase} in ${secs}s`);
    expect(done.status?.phase, describeWorkflow(done, c).slice(0, 4000)).toBe('Succeeded');
    const pods = podNodes(done);
    expect(pods.filter((p) => p.phase === 'Succeeded')).toHaveLength(n);
    expect(new Set(pods.map((p) => p.inputs?.parameters?.find((x) => x.name === 'i')?.value)).size).toBe(n);
  }, 1_600_000);
});
