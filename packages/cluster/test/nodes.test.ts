import { eventFields } from '@sluice/sdk';
import { describe, expect, test } from 'vitest';
import { argoNodeId, clusterTasks, eventsBetween, runStatus, type WorkflowLike } from '../src/nodes.ts';
import { failedWorkflow, node } from './fixtures.ts';

describe('Argo node status as Sluice tasks', () => {
  test('keys as a local run names them: loop iterations, retries, skipped and omitted tasks', () => {
    const tasks = clusterTasks(failedWorkflow() as WorkflowLike);
    const view = Object.fromEntries([...tasks].map(([k, t]) => [k, `${t.state}/${t.attempts}`]));
    expect(view).toEqual({
      prepare: 'succeeded/1',
      train: 'failed/2',
      'sweep[0]/fit': 'succeeded/1',
      'sweep[1]/fit': 'failed/1',
      report: 'omitted/0',
      publish: 'skipped/0',
      onExit: 'succeeded/1',
    });
    expect(tasks.get('train')?.podNodes).toEqual(['demo-abcde-train0', 'demo-abcde-train1']);
    expect(tasks.get('train')?.message).toBe('No more retries left');
  });

  test('the source map renames tasks and nests pipeline components', () => {
    const W = 'nest-aaaaa';
    const wf = { metadata: { name: W }, status: { phase: 'Running', nodes: Object.fromEntries([
      node(W, '', { type: 'DAG', phase: 'Running', templateName: 'main', children: [`${W}-sub`] }),
      node(W, 'sub-1', { id: `${W}-sub`, displayName: 'sub-1', type: 'DAG', phase: 'Running', templateName: 'sub-pipeline', children: [`${W}-inner`] }),
      node(W, 'sub-1.inner', { id: `${W}-inner`, displayName: 'inner', type: 'Pod', phase: 'Running', templateName: 'inner' }),
    ].map((x) => [x.id, x])) } };
    const map = { templates: { main: { kind: 'pipeline' }, 'sub-pipeline': { kind: 'nested' }, inner: { kind: 'component' } }, tasks: { main: { 'sub-1': 'sub' } } };
    expect([...clusterTasks(wf as WorkflowLike, map).keys()]).toEqual(['sub/inner']);
    // without the map the Argo names are taken as they are, and a DAG adds no level
    expect([...clusterTasks(wf as WorkflowLike).keys()]).toEqual(['inner']);
  });

  test('snapshots become the local engine events, ending with run.finished', () => {
    const W = 'ev-bbbbb';
    const snap = (phase: string, train: string, attempts: number) => {
      const kids = Array.from({ length: attempts }, (_, i) => `${W}-t${i}`);
      return { metadata: { name: W }, status: { phase, nodes: Object.fromEntries([
        node(W, '', { type: 'DAG', phase, templateName: 'main', children: [`${W}-train`] }),
        node(W, 'train', { type: 'Retry', phase: train, children: kids }),
        ...kids.map((id, i) => node(W, `train(${i})`, { id, displayName: `train(${i})`, type: 'Pod', phase: i < attempts - 1 ? 'Failed' : train, templateName: 'train', message: i < attempts - 1 ? 'Error (exit code 1)' : undefined })),
      ].map((x) => [x.id, x])) } } as WorkflowLike;
    };
    const seq = [snap('Running', 'Running', 1), snap('Running', 'Running', 2), snap('Succeeded', 'Succeeded', 2)];
    let prev: { tasks: ReturnType<typeof clusterTasks>; status: string } | undefined;
    const types: string[] = [];
    for (const wf of seq) {
      const tasks = clusterTasks(wf);
      for (const ev of eventsBetween(prev, wf, tasks, W, 0)) {
        const e = eventFields(ev);
        types.push(`${e.type}${e.key ? ` ${e.key}` : ''}${e.attempt ? ` #${e.attempt}` : ''}${e.status ? ` ${e.status}` : ''}`);
      }
      prev = { tasks, status: runStatus(wf) };
    }
    expect(types).toEqual(['run.started', 'task.started train #1', 'task.retrying train #1', 'task.started train #2', 'task.succeeded train #2', 'run.finished succeeded']);
  });

  test("node ids are Argo's: the workflow name, or <workflow>-<fnv-1a 32 of the node name> (values from Go's hash/fnv)", () => {
    expect(argoNodeId('wf-abcde', 'wf-abcde')).toBe('wf-abcde');
    expect(argoNodeId('wf-abcde', 'wf-abcde.a')).toBe('wf-abcde-1927409131');
    expect(argoNodeId('wf-abcde', 'wf-abcde.sweep(0:{"x":1}).train')).toBe('wf-abcde-2629161386');
    expect(argoNodeId('wf-x2k9p', 'wf-x2k9p.b')).toBe('wf-x2k9p-2415953951');
  });
});

describe("a node status the controller compressed (status.compressedNodes: a Workflow's JSON over 1 MiB)", () => {
  test('the backend reads the same tasks from it as from status.nodes; show and runs see them', async () => {
    const { gzipSync } = await import('node:zlib');
    const { ArgoBackend } = await import('../src/backend.ts');
    const plain = failedWorkflow() as WorkflowLike & { status: { nodes: object } };
    const packed = structuredClone(plain) as unknown as { status: Record<string, unknown> };
    packed.status.compressedNodes = gzipSync(Buffer.from(JSON.stringify(plain.status.nodes))).toString('base64');
    delete packed.status.nodes;
    expect(clusterTasks(packed as unknown as WorkflowLike).size).toBe(0); // what the API server hands a client
    const kube = { contextName: 'ctx', namespace: 'ns', path: (v: string, p: string, n?: string) => `/apis/${v}/namespaces/ns/${p}${n ? `/${n}` : ''}`, get: async () => structuredClone(packed), ok: async () => ({ items: [structuredClone(packed)] }) };
    const b = new ArgoBackend(kube as never);
    const shown = await b.show('demo-abcde');
    expect(Object.fromEntries(shown.tasks.map((t) => [t.key, t.state]))).toEqual(Object.fromEntries([...clusterTasks(plain)].map(([k, t]) => [k, t.state === 'pending' ? 'waiting' : t.state])));
    expect((await b.runs())[0]?.counts.total).toBe(clusterTasks(plain).size);
  });
});
