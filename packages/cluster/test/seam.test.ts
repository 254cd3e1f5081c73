// The Argo backend fits the runner's RunBackend seam (the interface is the runner's, which this
// package cannot import: this file does not compile if the class is not one), and its views come
// from the Workflow as the local ones come from the store.
import { expect, test } from 'vitest';
import type { RunBackend } from '../../runner/src/backend/backend.ts';
import { ArgoRunBackend } from '../src/seam.ts';
import type { Kube } from '../src/kube.ts';
import { failedWorkflow } from './fixtures.ts';

function fakeKube(wf: Record<string, unknown>): Kube {
  return {
    contextName: 'ctx', namespace: 'ns',
    path: (v: string, plural: string, name?: string) => `/apis/${v}/namespaces/ns/${plural}${name ? `/${name}` : ''}`,
    get: async () => wf,
    ok: async () => ({ items: [wf] }),
  } as unknown as Kube;
}

test('ArgoRunBackend is a RunBackend, with views named argo:<context>/<namespace>', async () => {
  const backend: RunBackend = new ArgoRunBackend(fakeKube(failedWorkflow()));
  expect(backend.kind).toBe('argo');
  expect(backend.location).toBe('ctx/ns');
  const [summary] = await backend.listRuns();
  expect(summary).toMatchObject({ ref: { backend: 'argo', cluster: 'ctx', namespace: 'ns', id: 'demo-abcde' }, pipeline: 'demo', status: 'failed', progress: '7/7' });
  expect(summary!.counts).toMatchObject({ total: 7, succeeded: 3, failed: 2, skipped: 1, omitted: 1 });
  const run = await backend.getRun('demo-abcde');
  expect(run.tasks.find((t) => t.key === 'train')).toMatchObject({ state: 'failed', attempts: [{ n: 1, outcome: 'failed' }, { n: 2, outcome: 'failed' }] });
  expect(run.params).toEqual({ x: '1' });
  expect(run.outputs).toBeNull();
  await expect(backend.resume('demo-abcde')).rejects.toThrow(/sluice retry demo-abcde/);
});
