// Every example, compiled with `sluice compile` and submitted as a Workflow, runs to success on
// Argo's real workflow controller (test cluster: tools/test/support/cluster/) and gives the same
// outputs as its local run: parameter values, artifact bytes by hash, the steps that ran (and how
// often), the branches skipped.
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { KubeClient } from './support/kube/client.ts';
import { cleanup, describeWorkflow, runBoth } from './support/cluster/compare.ts';

const cluster = inject('cluster');
const skip = 'skip' in cluster ? cluster.skip : undefined;
if (skip) console.log(`[cluster] skipping the example suites: ${skip}`);

interface ExampleCase {
  example: string;
  exportName?: string;
  /** Per-side parameters, e.g. a model registry of its own for each run. */
  side?: (side: 'local' | 'cluster', scratch: string) => Record<string, string>;
  /** Why this example is expected to fail on Argo today (a compiled-output defect), if it is. */
  knownDefect?: string;
}

const cases: ExampleCase[] = [
  // Each side promotes into a registry of its own, so both see "nothing promoted yet".
  { example: 'tabular-training', side: (_s, scratch) => ({ registry: `${scratch}/registry` }) },
  { example: 'batch-inference' },
  // The default export asks for a GPU that the kwok node does not have; the cpu export is the same pipeline.
  { example: 'checkpointed-training', exportName: 'cpu' },
  {
    example: 'container-python',
    // python3 writes /tmp/sluice/outputs/parameters/r2 and nothing created the directory.
    knownDefect: 'issue 10: output directories not created in the pod (h1)',
  },
];

describe.skipIf(skip)(`examples on Argo's workflow-controller ${skip ? '' : (cluster as { versions: Record<string, string> }).versions.argo}`, () => {
  const c = cluster as Exclude<typeof cluster, { skip: string }>;
  const kube = skip ? undefined! : new KubeClient(c.kube);

  for (const ex of cases) {
    const title = `${ex.example}${ex.exportName ? ` (--export ${ex.exportName})` : ''}: succeeds on Argo with the outputs of its local run`;
    const body = async (): Promise<void> => {
      const r = await runBoth(c, kube, `examples/${ex.example}/pipeline.ts`, {
        ...(ex.exportName ? { exportName: ex.exportName } : {}),
        ...(ex.side ? { side: ex.side } : {}),
      });
      onTestFinished(() => cleanup(r));
      expect(r.local.status, r.localResult.error).toBe('succeeded');
      expect(r.wf.status?.phase, describeWorkflow(r.wf, c)).toBe('Succeeded');
      expect(r.cluster.params).toEqual(r.local.params);
      expect(r.cluster.artifacts).toEqual(r.local.artifacts);
      expect(r.cluster.ran).toEqual(r.local.ran);
      // Branches taken: the steps that ran (above) are the same; skipped nodes are named differently
    // on each side (Argo skips the condition's DAG task, the runner each step), so not compared by name.
      expect(Object.keys(r.local.params).length + Object.keys(r.local.artifacts).length).toBeGreaterThan(0);
    };
    // SLUICE_CLUSTER_SHOW_DEFECTS=1 runs known-defect cases as plain tests, to read the failure.
    if (ex.knownDefect && process.env.SLUICE_CLUSTER_SHOW_DEFECTS !== '1') it.fails(`${title} [expected to fail until fixed: ${ex.knownDefect}]`, body, 900_000);
    else it(title, body, 900_000);
  }
});
