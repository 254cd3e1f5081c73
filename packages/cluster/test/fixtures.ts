/** Hand-written Workflow objects with the node status Argo's controller writes (shapes from argo-workflows' NodeStatus). */
export type Obj = Record<string, any>;

export function node(wf: string, path: string, o: Obj): Obj {
  const name = path === '' ? wf : `${wf}.${path}`;
  const id = o.id ?? (path === '' ? wf : `${wf}-${path.replace(/[^a-z0-9]/g, '')}`);
  return { id, name, displayName: o.displayName ?? (path.split('.').pop() || wf), type: o.type, phase: o.phase, templateName: o.templateName ?? path.split('.').pop(), children: o.children ?? [], ...(o.boundaryID ? { boundaryID: o.boundaryID } : {}), ...(o.message ? { message: o.message } : {}), ...(o.memoizationStatus ? { memoizationStatus: o.memoizationStatus } : {}), ...(o.nodeFlag ? { nodeFlag: o.nodeFlag } : {}), startedAt: '2026-12-01T10:00:00Z', ...(o.phase && o.phase !== 'Running' && o.phase !== 'Pending' ? { finishedAt: '2026-12-01T10:01:00Z' } : {}) };
}

/**
 * A failed run of: prepare -> train (retried: attempt 1 failed, attempt 2 failed) -> report (omitted),
 * plus a loop `sweep` over 2 items (body DAG `sweep` with task `fit`; item 1 failed), a skipped
 * branch task `publish`, and an exit handler.
 */
export function failedWorkflow(wfName = 'demo-abcde'): Obj {
  const W = wfName;
  const n = (p: string, o: Obj) => node(W, p, o);
  const nodes: Obj[] = [
    n('', { type: 'DAG', phase: 'Failed', templateName: 'main', children: [`${W}-prepare`, `${W}-train`, `${W}-sweep`, `${W}-publish`] }),
    n('prepare', { type: 'Pod', phase: 'Succeeded', children: [`${W}-train`, `${W}-sweep`] }),
    n('train', { type: 'Retry', phase: 'Failed', message: 'No more retries left', children: [`${W}-train0`, `${W}-train1`] }),
    n('train(0)', { id: `${W}-train0`, displayName: 'train(0)', type: 'Pod', phase: 'Failed', templateName: 'train', message: 'Error (exit code 1)', nodeFlag: { retried: true } }),
    n('train(1)', { id: `${W}-train1`, displayName: 'train(1)', type: 'Pod', phase: 'Failed', templateName: 'train', message: 'Error (exit code 1)', nodeFlag: { retried: true }, children: [`${W}-report`] }),
    n('report', { type: 'Skipped', phase: 'Omitted', message: 'omitted: depends condition not met' }),
    n('sweep', { type: 'TaskGroup', phase: 'Failed', templateName: 'sweep', children: [`${W}-sweep0`, `${W}-sweep1`] }),
    n('sweep(0:1)', { id: `${W}-sweep0`, displayName: 'sweep(0:1)', type: 'DAG', phase: 'Succeeded', templateName: 'sweep', boundaryID: W, children: [`${W}-fit0`] }),
    n('sweep(0:1).fit', { id: `${W}-fit0`, displayName: 'fit', type: 'Pod', phase: 'Succeeded', templateName: 'fit', boundaryID: `${W}-sweep0` }),
    n('sweep(1:2)', { id: `${W}-sweep1`, displayName: 'sweep(1:2)', type: 'DAG', phase: 'Failed', templateName: 'sweep', boundaryID: W, children: [`${W}-fit1`] }),
    n('sweep(1:2).fit', { id: `${W}-fit1`, displayName: 'fit', type: 'Pod', phase: 'Failed', templateName: 'fit', boundaryID: `${W}-sweep1`, message: 'Error (exit code 1)' }),
    n('publish', { type: 'Skipped', phase: 'Skipped', message: "when 'false' evaluated false" }),
    n('onExit', { id: `${W}-onexit`, displayName: `${W}.onExit`, type: 'Pod', phase: 'Succeeded', templateName: 'exit-handler' }),
  ];
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name: W, generateName: 'demo-', namespace: 'ns', labels: { 'sluice.dev/pipeline': 'demo', 'workflows.argoproj.io/completed': 'true', 'workflows.argoproj.io/phase': 'Failed', 'workflows.argoproj.io/creator': 'someone' }, annotations: { 'sluice.dev/entry': 'pipeline.ts' } },
    spec: { workflowTemplateRef: { name: 'demo-0123456789' }, shutdown: 'Stop', arguments: { parameters: [{ name: 'x', value: '1' }] } },
    status: { phase: 'Failed', message: 'child failed', startedAt: '2026-12-01T10:00:00Z', finishedAt: '2026-12-01T10:02:00Z', nodes: Object.fromEntries(nodes.map((x) => [x.id, x])) },
  };
}
