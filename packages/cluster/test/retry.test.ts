import { describe, expect, test } from 'vitest';
import { argoNodeId } from '../src/nodes.ts';
import { formulateResubmit, formulateRetry, LABEL_RESUBMITTED_FROM, RetryError } from '../src/retry.ts';
import { failedWorkflow } from './fixtures.ts';

describe('retry (argo retry semantics on the object)', () => {
  test('failed nodes and what is under them go, the groups above are reset, succeeded nodes stay', () => {
    const wf = failedWorkflow();
    const W = wf.metadata.name;
    const { workflow: retried, podNodesToDelete } = formulateRetry(wf, new Date('2026-12-01T11:00:00Z'));
    const workflow = retried as any;
    const nodes = workflow.status.nodes as Record<string, any>;
    const phases = Object.fromEntries(Object.values(nodes).map((n: any) => [n.name.slice(W.length + 1) || '(root)', n.phase]));
    expect(phases).toEqual({
      '(root)': 'Running', // reset: the boundary of failed nodes
      prepare: 'Succeeded', // kept: not run again
      train: 'Running', // the retry node is reset; its failed attempts are removed
      sweep: 'Failed', // Argo resets only boundaries (the iteration's DAG, the root), not the task group between
      'sweep(0:1)': 'Succeeded', // the iteration that succeeded, kept with its pod
      'sweep(0:1).fit': 'Succeeded',
      'sweep(1:2)': 'Running', // the failed iteration's DAG, reset
      publish: 'Skipped',
    });
    // the failed attempts, what hangs under them (report, which depends on train), the failed pod and the exit handler are gone
    for (const gone of ['train0', 'train1', 'report', 'fit1', 'onexit']) expect(nodes[`${W}-${gone}`]).toBeUndefined();
    expect(podNodesToDelete).toEqual([`${W}-fit1`, `${W}-onexit`, `${W}-train0`, `${W}-train1`].sort());
    // children no longer point at removed nodes
    expect(nodes[W].children).toEqual([`${W}-prepare`, `${W}-train`, `${W}-sweep`, `${W}-publish`]);
    expect(nodes[`${W}-train`].children).toEqual([]);
    expect(nodes[`${W}-sweep1`].children).toEqual([]);
    expect(nodes[W].startedAt).toBe('2026-12-01T11:00:00Z');
    expect(nodes[W].finishedAt).toBeUndefined();
    // the run is running again, no longer completed or shut down
    expect(workflow.status.phase).toBe('Running');
    expect(workflow.metadata.labels['workflows.argoproj.io/completed']).toBeUndefined();
    expect(workflow.metadata.labels['workflows.argoproj.io/phase']).toBe('Running');
    expect(workflow.spec.shutdown).toBeUndefined();
    expect(workflow.status.conditions).toEqual([{ type: 'Completed', status: 'False' }]);
    // the input object is not modified
    expect(wf.status.nodes[`${W}-train`].phase).toBe('Failed');
  });

  test('only failed runs can be retried', () => {
    const ok = failedWorkflow();
    ok.status.phase = 'Succeeded';
    expect(() => formulateRetry(ok)).toThrow(RetryError);
    expect(() => formulateRetry(ok)).toThrow(/succeeded: there is nothing to retry/);
    ok.status.phase = 'Running';
    expect(() => formulateRetry(ok)).toThrow(/cannot retry run demo-abcde while it is Running/);
  });
});

describe('resubmit (argo resubmit semantics)', () => {
  test('plain: a new Workflow with the same spec, generateName, labels carried, the origin recorded', () => {
    const wf = failedWorkflow();
    const next = formulateResubmit(wf);
    expect(next.metadata).toEqual({
      generateName: 'demo-', namespace: 'ns',
      labels: { 'sluice.dev/pipeline': 'demo', [LABEL_RESUBMITTED_FROM]: 'demo-abcde' },
      annotations: { 'sluice.dev/entry': 'pipeline.ts' },
    });
    expect(next.spec).toEqual({ workflowTemplateRef: { name: 'demo-0123456789' }, arguments: { parameters: [{ name: 'x', value: '1' }] } });
    expect(next.status).toBeUndefined();
  });

  test('memoized: succeeded pods become Skipped "original pod" nodes under the new name, failed ones Pending', () => {
    const wf = failedWorkflow();
    const next = formulateResubmit(wf, { memoized: true, suffix: 'x2k9p' }) as any;
    const N = 'demo-x2k9p';
    expect(next.metadata.name).toBe(N);
    const byName = Object.fromEntries(Object.values(next.status.nodes).map((n: any) => [n.name, n]));
    expect(byName[`${N}.prepare`]).toMatchObject({ id: argoNodeId(N, `${N}.prepare`), type: 'Skipped', phase: 'Skipped', message: 'original pod: demo-abcde-prepare' });
    expect(byName[`${N}.train(0)`]).toMatchObject({ type: 'Pod', phase: 'Pending' });
    expect(byName[`${N}.train(0)`].startedAt).toBeUndefined();
    expect(byName[N]).toMatchObject({ id: N, phase: 'Pending' });
    expect(byName[N].children).toEqual(['prepare', 'train', 'sweep', 'publish'].map((t) => argoNodeId(N, `${N}.${t}`)));
    // a Skipped node with nothing succeeded below it is dropped; the exit handler is dropped
    expect(byName[`${N}.publish`]).toBeUndefined();
    expect(byName[`${N}.report`]).toBeUndefined();
    expect(Object.keys(byName).some((k) => k.includes('onExit'))).toBe(false);
    expect(() => formulateResubmit({ ...wf, status: { ...wf.status, phase: 'Succeeded' } }, { memoized: true })).toThrow(/needs a failed run/);
  });
});
