// A cluster run's pipeline outputs, from a Workflow status shaped as Argo v4.0.5's controller writes
// it: the entry DAG's outputs on its node (status.nodes[<workflow>]), never in status.outputs.
import { describe, expect, test } from 'vitest';
import type { RunEvent } from '@sluice/sdk';
import { ArgoBackend } from '../src/backend.ts';
import { formatClusterOutputs } from '../src/cli.ts';
import type { Kube } from '../src/kube.ts';
import { eventsBetween, clusterTasks, type WorkflowLike } from '../src/nodes.ts';
import { OUTPUTS_ANNOTATION, runOutputs } from '../src/outputs.ts';
import { ArgoRunBackend } from '../src/seam.ts';
import { node, type Obj } from './fixtures.ts';

const W = 'train-x7k2p';
const specs = { accuracy: { kind: 'parameter', type: 'number' }, name: { kind: 'parameter', type: 'string' }, tags: { kind: 'parameter', type: 'array', items: 'number' }, model: { kind: 'artifact', artifactType: 'Model' } };
// the entry template as the compiler emits it (stored by the controller from the WorkflowTemplate)
const entry = {
  name: 'main',
  outputs: {
    parameters: [
      { name: 'accuracy', globalName: 'accuracy', valueFrom: { parameter: '{{tasks.pick.outputs.parameters.accuracy}}' } },
      { name: 'name', globalName: 'name', valueFrom: { parameter: '{{tasks.pick.outputs.parameters.name}}' } },
      { name: 'tags', globalName: 'tags', valueFrom: { parameter: '{{tasks.pick.outputs.parameters.tags}}' } },
    ],
    artifacts: [{ name: 'model', globalName: 'model', from: '{{tasks.pick.outputs.artifacts.model}}' }],
  },
  dag: { tasks: [{ name: 'pick', template: 'pick' }] },
};
const pickOutputs = {
  parameters: [{ name: 'accuracy', value: '0.93' }, { name: 'name', value: '42' }, { name: 'tags', value: '["1","2"]' }, { name: 'sluice-cache-key', value: 'abc' }],
  artifacts: [{ name: 'model', s3: { key: `${W}/${W}-pick/model.tgz` } }],
};

function workflow(o: { rootOutputs: boolean; phase?: string }): Obj {
  const phase = o.phase ?? 'Succeeded';
  const root = node(W, '', { type: 'DAG', phase, templateName: 'main', children: [`${W}-pick`] });
  const pick: Obj = { ...node(W, 'pick', { type: 'Pod', phase, boundaryID: W }), outputs: pickOutputs };
  // v4.0.5: the DAG's outputs resolved on its own node, with the values of the task they name
  if (o.rootOutputs) Object.assign(root, { outputs: { parameters: entry.outputs.parameters.map((p) => ({ ...p, value: pickOutputs.parameters.find((x) => x.name === p.name)!.value })), artifacts: [{ name: 'model', globalName: 'model', s3: { key: `${W}/${W}-pick/model.tgz` } }] } });
  return {
    metadata: { name: W, labels: { 'sluice.dev/pipeline': 'train' }, annotations: { [OUTPUTS_ANNOTATION]: JSON.stringify(specs) } },
    spec: { workflowTemplateRef: { name: 'train-0123456789' } },
    status: {
      phase, startedAt: '2026-12-01T10:00:00Z', ...(phase === 'Succeeded' ? { finishedAt: '2026-12-01T10:02:00Z' } : {}),
      nodes: { [W]: root, [pick.id]: pick },
      storedWorkflowTemplateSpec: { entrypoint: 'main', templates: [entry, { name: 'pick', container: { image: 'node:20-slim' } }] },
      artifactRepositoryRef: { default: true, artifactRepository: { s3: { bucket: 'sluice-artifacts', endpoint: '127.0.0.1:9000' } } },
    },
  };
}

const expected = {
  accuracy: 0.93,
  name: '42',
  tags: [1, 2],
  model: { kind: 'artifact', type: 'Model', hash: '', path: `${W}/${W}-pick/model.tgz`, uri: `s3://sluice-artifacts/${W}/${W}-pick/model.tgz`, metadata: {} },
};

function fakeKube(wf: Obj): Kube {
  return { contextName: 'ctx', namespace: 'ns', path: (v: string, p: string, n?: string) => `/apis/${v}/namespaces/ns/${p}${n ? `/${n}` : ''}`, get: async () => wf, ok: async () => ({ items: [wf] }) } as unknown as Kube;
}

describe("a cluster run's outputs (status.outputs is empty on v4.0.5)", () => {
  test('from the entry DAG node, typed by the pipeline output specs', () => {
    expect(runOutputs(workflow({ rootOutputs: true }) as unknown as WorkflowLike)).toEqual(expected);
  });

  test('from the producing task nodes, through the entry template, when the DAG node has none', () => {
    expect(runOutputs(workflow({ rootOutputs: false }) as unknown as WorkflowLike)).toEqual(expected);
  });

  test('none unless the run succeeded, as for local runs', () => {
    expect(runOutputs(workflow({ rootOutputs: true, phase: 'Failed' }) as unknown as WorkflowLike)).toEqual({});
  });

  test('sluice show and the run backend give them, and run.finished carries them', async () => {
    const wf = workflow({ rootOutputs: false });
    expect((await new ArgoRunBackend(fakeKube(wf)).getRun(W)).outputs).toEqual(expected);
    const v = await new ArgoBackend(fakeKube(wf)).show(W);
    expect(formatClusterOutputs(v.outputs!)).toBe(`outputs\n  accuracy  0.93\n  model     Model  s3://sluice-artifacts/${W}/${W}-pick/model.tgz\n  name      42\n  tags      [1,2]\n`);
    const w = wf as unknown as WorkflowLike;
    const events: RunEvent[] = eventsBetween({ tasks: new Map(), status: 'running' }, w, clusterTasks(w), W, 0, () => runOutputs(w));
    expect(events.at(-1)).toEqual({ type: 'run.finished', time: 0, runId: W, status: 'succeeded', outputs: expected });
  });
});

describe('the content hashes a pod recorded (the sluice-artifacts output parameter)', () => {
  const MODEL_HASH = 'f'.repeat(64);
  const recorded = (wf: Obj): Obj => {
    const w = structuredClone(wf);
    const pick = w.status.nodes[`${W}-pick`];
    pick.outputs.parameters.push({ name: 'sluice-artifacts', value: JSON.stringify({ model: { hash: MODEL_HASH, size: 1234, type: 'Model' } }) });
    return w;
  };

  test('a pipeline output artifact carries the hash of the node that produced it (by its key), however it is reached', () => {
    for (const rootOutputs of [true, false]) {
      const out = runOutputs(recorded(workflow({ rootOutputs })) as unknown as WorkflowLike);
      expect(out.model).toEqual({ ...expected.model, hash: MODEL_HASH });
    }
  });

  test('show lists every task artifact with hash, size and type, and prints the short hash', async () => {
    const v = await new ArgoBackend(fakeKube(recorded(workflow({ rootOutputs: false })))).show(W);
    expect(v.artifacts).toEqual([{ name: 'pick.model', task: 'pick', output: 'model', type: 'Model', size: 1234, hash: MODEL_HASH, metadata: {}, consumers: [] }]);
    expect(formatClusterOutputs(v.outputs!)).toContain(`  model     Model  sha256:${MODEL_HASH.slice(0, 16)}  s3://sluice-artifacts/${W}/${W}-pick/model.tgz\n`);
  });

  test('nothing recorded (a container step, an unreadable value): the hash stays empty and nothing is listed', async () => {
    const w = recorded(workflow({ rootOutputs: false }));
    w.status.nodes[`${W}-pick`].outputs.parameters.at(-1).value = 'not json';
    expect((runOutputs(w as unknown as WorkflowLike).model as { hash: string }).hash).toBe('');
    expect((await new ArgoBackend(fakeKube(w)).show(W)).artifacts).toEqual([]);
  });
});
