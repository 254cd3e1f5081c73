/**
 * `sluice retry` and `sluice resubmit` on the Workflow object, with the semantics of Argo's own
 * `argo retry` / `argo resubmit` (argo-workflows `workflow/util`: FormulateRetryWorkflow,
 * FormulateResubmitWorkflow), re-implemented over plain JSON:
 *
 * - retry: the same Workflow continues. Every failed node is removed together with everything
 *   under it, every group node above it (DAG, task group, retry, steps) is reset to Running,
 *   succeeded nodes are kept (their outputs are reused, their pods are not re-run), the exit
 *   handler's nodes are dropped so it runs again, `spec.shutdown` is cleared. The pods of removed
 *   nodes must be deleted.
 * - resubmit: a new Workflow with the same spec. With `memoized`, the previous run's succeeded
 *   pods become Skipped nodes ("original pod: …") of the new Workflow, so only what failed runs.
 */
import { randomInt } from 'node:crypto';
import { argoNodeId, type ArgoNode } from './nodes.ts';

type Obj = Record<string, unknown>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type MNode = Mutable<ArgoNode> & Obj;
type Nodes = Record<string, ArgoNode & Obj>;

export class RetryError extends Error {
  override readonly name = 'RetryError';
}

const LABEL_COMPLETED = 'workflows.argoproj.io/completed';
const LABEL_ARCHIVING = 'workflows.argoproj.io/workflow-archiving-status';
const LABEL_PHASE = 'workflows.argoproj.io/phase';
/** Argo's label naming the workflow a resubmitted one comes from. */
export const LABEL_RESUBMITTED_FROM = 'workflows.argoproj.io/resubmitted-from-workflow';
const CREATOR_LABELS = ['workflows.argoproj.io/creator', 'workflows.argoproj.io/creator-email', 'workflows.argoproj.io/creator-preferred-username'];

const GROUP_TYPES = new Set(['DAG', 'TaskGroup', 'StepGroup', 'Steps']);
const EXECUTION_TYPES = new Set(['Pod', 'Container', 'HTTP', 'Plugin']);

function clone<T>(x: T): T {
  return structuredClone(x);
}

const failedOrError = (n: { phase?: string }) => n.phase === 'Failed' || n.phase === 'Error';

function setCompletedFalse(status: Obj): void {
  const conds = ((status.conditions as Obj[] | undefined) ?? []).filter((c) => c.type !== 'Completed');
  conds.push({ type: 'Completed', status: 'False' });
  status.conditions = conds;
}

/** The retried Workflow (to PUT back, with its resourceVersion) and the node ids whose pods must go. */
export function formulateRetry(wf: Obj, now: Date = new Date()): { workflow: Obj; podNodesToDelete: string[] } {
  const meta = (wf.metadata ?? {}) as Obj;
  const name = String(meta.name ?? '');
  const status = (wf.status ?? {}) as Obj;
  const phase = String(status.phase ?? '');
  if (phase === 'Succeeded') throw new RetryError(`run ${name} succeeded: there is nothing to retry (resubmit it to run it again)`);
  if (phase !== 'Failed' && phase !== 'Error') throw new RetryError(`cannot retry run ${name} while it is ${phase || 'pending'}; retry a failed run`);
  const nodes = (status.nodes ?? {}) as Nodes;
  const onExit = `${name}.onExit`;

  const out = clone(wf);
  const om = out.metadata as Obj;
  const labels = { ...((om.labels as Obj | undefined) ?? {}) };
  delete labels[LABEL_COMPLETED];
  delete labels[LABEL_ARCHIVING];
  labels[LABEL_PHASE] = 'Running';
  om.labels = labels;
  const spec = out.spec as Obj;
  delete spec.shutdown;
  if (spec.activeDeadlineSeconds === 0) delete spec.activeDeadlineSeconds;
  const st = out.status as Obj;
  setCompletedFalse(st);
  st.phase = 'Running';
  st.message = '';
  st.startedAt = now.toISOString().replace(/\.\d+Z$/, 'Z');
  delete st.finishedAt;
  const stored = st.storedWorkflowTemplateSpec as Obj | undefined;
  if (stored) delete stored.shutdown;
  st.persistentVolumeClaims = [];

  // the tree by `children` edges (in a DAG, a task hangs under the tasks it depends on)
  const parent = new Map<string, string>();
  for (const n of Object.values(nodes)) for (const c of n.children ?? []) parent.set(c, n.id);
  const descendants = (id: string, acc: Set<string>): Set<string> => {
    for (const c of nodes[id]?.children ?? []) if (!acc.has(c)) { acc.add(c); descendants(c, acc); }
    return acc;
  };
  const succeededBelow = (n: ArgoNode): boolean => (n.children ?? []).some((c) => nodes[c]?.phase === 'Succeeded' || (nodes[c] !== undefined && succeededBelow(nodes[c]!)));

  // failed execution nodes (pods) with nothing succeeded after them; a retry attempt is judged by its retry node
  const failed = new Set<string>();
  for (const [id, n] of Object.entries(nodes)) {
    if (!failedOrError(n) || !EXECUTION_TYPES.has(n.type)) continue;
    const p = parent.get(id);
    const judged = (n as Obj).nodeFlag && ((n as Obj).nodeFlag as Obj).retried && p !== undefined ? nodes[p]! : n;
    if (!succeededBelow(judged)) failed.add(id);
  }
  // in breadth-first order from the root, so that a node already removed with an ancestor is not walked again
  const order: string[] = [];
  const queue = nodes[name] ? [name] : [];
  const queued = new Set(queue);
  while (queue.length) {
    const id = queue.shift()!;
    order.push(id);
    for (const c of nodes[id]?.children ?? []) if (!queued.has(c)) { queued.add(c); queue.push(c); }
  }
  const toDelete = new Set<string>();
  const toReset = new Set<string>();
  const reset = (id: string) => toReset.add(id);
  // from a node up to the DAG it belongs to (its boundary), and so on to the root: those are reset
  const resetBoundaries = (start: string): string | undefined => {
    let curr: string | undefined = start;
    for (;;) {
      if (curr === undefined) return undefined;
      let p = parent.get(curr);
      if (p !== undefined && nodes[p]?.type === 'Retry') { reset(p); curr = p; p = parent.get(curr); }
      if (p !== undefined && nodes[p]?.type === 'StepGroup') reset(p);
      const boundary: string | undefined = nodes[curr]?.boundaryID;
      if (!boundary) return parent.get(curr);
      let up: string | undefined = curr;
      while (up !== undefined && up !== boundary) up = parent.get(up);
      if (up === undefined) throw new RetryError(`run ${name}: node ${curr} is not under its boundary ${boundary}`);
      reset(up);
      curr = up;
    }
  };
  for (const id of order) {
    if (!failed.has(id) || toDelete.has(id)) continue;
    toDelete.add(id);
    descendants(id, toDelete);
    if (parent.get(id) === undefined) continue;
    let curr: string | undefined = id;
    while (curr !== undefined) {
      const t = nodes[curr]?.type ?? '';
      if (GROUP_TYPES.has(t)) {
        reset(curr);
        curr = resetBoundaries(curr);
        continue;
      }
      if (t === 'Retry') reset(curr);
      curr = parent.get(curr);
    }
  }
  // the exit handler runs again: its pods go too
  const exitRoot = Object.values(nodes).find((n) => n.name === onExit);
  const exitPods = exitRoot ? [exitRoot.id, ...descendants(exitRoot.id, new Set())].filter((id) => nodes[id]?.type === 'Pod') : [];

  const newNodes: Record<string, MNode> = {};
  for (const [id, n] of Object.entries(nodes)) {
    if (toDelete.has(id) || n.name.startsWith(onExit)) continue;
    const copy = clone(n) as MNode;
    if (toReset.has(id)) {
      copy.phase = n.phase === 'Skipped' ? 'Skipped' : 'Running';
      copy.message = '';
      copy.startedAt = st.startedAt as string;
      delete copy.finishedAt;
    }
    copy.children = (n.children ?? []).filter((c) => !toDelete.has(c));
    const outbound = (n as Obj).outboundNodes as string[] | undefined;
    if (outbound) copy.outboundNodes = outbound.filter((c) => !toDelete.has(c));
    newNodes[id] = copy;
  }
  st.nodes = newNodes;
  const podNodesToDelete = [...new Set([...[...toDelete].filter((id) => nodes[id]?.type === 'Pod'), ...exitPods])].sort();
  return { workflow: out, podNodesToDelete };
}

const SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** Argo's RandSuffix: five characters without vowels. */
export function randSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += SUFFIX_CHARS[randomInt(SUFFIX_CHARS.length)];
  return s;
}

/** A new Workflow that runs the old one's spec again; with `memoized`, reusing its succeeded pods. */
export function formulateResubmit(wf: Obj, o: { memoized?: boolean; suffix?: string; now?: Date } = {}): Obj {
  const meta = (wf.metadata ?? {}) as Obj;
  const oldName = String(meta.name ?? '');
  const status = (wf.status ?? {}) as Obj;
  const generateName = String(meta.generateName || `${oldName}-`);
  const newMeta: Obj = { generateName };
  if (o.memoized) {
    const phase = String(status.phase ?? '');
    if (phase !== 'Failed' && phase !== 'Error') throw new RetryError(`run ${oldName} is ${phase || 'pending'}: resubmit --memoized needs a failed run (a plain resubmit runs everything again)`);
    newMeta.name = `${generateName}${o.suffix ?? randSuffix()}`;
  }
  if (meta.namespace) newMeta.namespace = meta.namespace;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries((meta.labels as Record<string, string> | undefined) ?? {})) {
    if (CREATOR_LABELS.includes(k) || k === LABEL_PHASE || k === LABEL_COMPLETED || k === LABEL_ARCHIVING) continue;
    labels[k] = v;
  }
  labels[LABEL_RESUBMITTED_FROM] = oldName;
  newMeta.labels = labels;
  newMeta.annotations = { ...((meta.annotations as Obj | undefined) ?? {}) };
  if (meta.ownerReferences) newMeta.ownerReferences = clone(meta.ownerReferences);
  const spec = clone((wf.spec ?? {}) as Obj);
  delete spec.shutdown;
  if (spec.activeDeadlineSeconds === 0) delete spec.activeDeadlineSeconds;
  const out: Obj = { apiVersion: wf.apiVersion ?? 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: newMeta, spec };
  if (!o.memoized) return out;

  const newName = newMeta.name as string;
  const nodes = (status.nodes ?? {}) as Nodes;
  const rename = (n: string) => (n.startsWith(oldName) ? newName + n.slice(oldName.length) : n);
  const idOf = (oldId: string) => argoNodeId(newName, rename(nodes[oldId]?.name ?? oldId));
  const succeededBelow = (n: ArgoNode): boolean => (n.children ?? []).some((c) => nodes[c]?.phase === 'Succeeded' || (nodes[c] !== undefined && succeededBelow(nodes[c]!)));
  const stamp = (o.now ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  const newNodes: Record<string, MNode> = {};
  for (const n of Object.values(nodes)) {
    if (n.name.startsWith(`${oldName}.onExit`)) continue;
    const c = clone(n) as MNode;
    c.name = rename(n.name);
    c.id = argoNodeId(newName, c.name);
    if (n.boundaryID) c.boundaryID = idOf(n.boundaryID);
    if (failedOrError(n) && n.type === 'Pod') { delete c.startedAt; delete c.finishedAt; } else { c.startedAt = stamp; c.finishedAt = stamp; }
    c.children = (n.children ?? []).map(idOf);
    const outbound = (n as Obj).outboundNodes as string[] | undefined;
    if (outbound) c.outboundNodes = outbound.map(idOf);
    if (!failedOrError(n) && n.type === 'Pod') {
      c.phase = 'Skipped';
      c.type = 'Skipped';
      c.message = `original pod: ${n.id}`;
    } else if (n.type === 'Skipped' && !succeededBelow(n)) {
      continue;
    } else {
      c.phase = 'Pending';
      c.message = '';
    }
    newNodes[c.id] = c;
  }
  out.status = { nodes: newNodes, storedTemplates: clone(status.storedTemplates ?? {}), conditions: [{ type: 'Completed', status: 'False' }] };
  return out;
}
