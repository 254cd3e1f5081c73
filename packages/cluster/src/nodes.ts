/**
 * A Workflow's node status, read as Sluice tasks: every Argo node mapped back to the task key a
 * local run would use (`train`, `sweep[2]/train-model`, `sub/inner`) through the compile source
 * map, and the difference of two snapshots as the same RunEvents the local engine emits, so that
 * `sluice watch` shows a cluster run with the local run's view.
 */
import { gunzipSync } from 'node:zlib';
import type { RunEvent, RunOutputValue, TaskStateView } from '@sluice/sdk';

/** A task's state as the views name it, or `pending`: its node exists and nothing has run yet. */
export type ClusterTaskState = TaskStateView | 'pending';

/** The compile source map (from @sluice/compiler), as far as the watcher needs it. */
export interface SourceMapLike {
  readonly templates: { readonly [template: string]: { readonly kind: string; readonly node?: string } };
  /** DAG template -> Argo task name -> IR node id (or null for a chunk); tasks named as their id may be left out. */
  readonly tasks: { readonly [template: string]: { readonly [task: string]: string | null } };
}

/** The annotation the compiler writes the source map into. */
export const SOURCE_MAP_ANNOTATION = 'sluice.dev/source-map';

export interface ArgoNode {
  readonly id: string;
  readonly name: string;
  readonly displayName?: string;
  readonly type: string;
  readonly phase?: string;
  readonly templateName?: string;
  readonly templateRef?: { readonly template?: string };
  readonly children?: readonly string[];
  readonly boundaryID?: string;
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly memoizationStatus?: { readonly hit?: boolean };
}

export interface WorkflowLike {
  readonly metadata: { readonly name?: string; readonly namespace?: string; readonly annotations?: { readonly [k: string]: string }; readonly labels?: { readonly [k: string]: string }; readonly creationTimestamp?: string };
  readonly spec?: { readonly shutdown?: string; readonly [k: string]: unknown };
  readonly status?: { readonly phase?: string; readonly message?: string; readonly startedAt?: string; readonly finishedAt?: string; readonly nodes?: { readonly [id: string]: ArgoNode } };
}

/** One task of a cluster run, as a local run's task row shows it. */
export interface ClusterTask {
  readonly key: string;
  readonly state: ClusterTaskState;
  readonly attempts: number;
  /** Node ids of the task's pods, attempt by attempt. */
  readonly podNodes: readonly string[];
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
}

/**
 * A Workflow as the API server hands it, with its node status in `status.nodes`. Argo's controller
 * stores the node status of a Workflow whose JSON passes 1 MiB (its MAX_WORKFLOW_SIZE) gzipped and
 * base64-encoded in `status.compressedNodes` instead (a 1,000-task run does); only the Argo server
 * unpacks it for its clients, so a client of the API server must. A node status offloaded to
 * Argo's database (`status.offloadNodeStatusVersion`, when even the compressed form is too large)
 * is not in the API server at all: it stays empty here. Returns the same object, unpacked in place.
 *
 * @example
 * const wf = hydrateWorkflow(await kube.get(path)); // wf.status.nodes, whatever the size
 */
export function hydrateWorkflow<T extends { readonly status?: unknown }>(wf: T): T {
  const status = wf.status as { nodes?: unknown; compressedNodes?: string } | undefined;
  if (!status || typeof status.compressedNodes !== 'string' || status.compressedNodes === '') return wf;
  if (status.nodes && Object.keys(status.nodes as object).length) return wf;
  status.nodes = JSON.parse(gunzipSync(Buffer.from(status.compressedNodes, 'base64')).toString('utf8')) as unknown;
  delete status.compressedNodes;
  return wf;
}

/** Reads the source map from a Workflow's (or template's) annotation. */
export function readSourceMap(obj: { metadata?: { annotations?: { readonly [k: string]: string } } }): SourceMapLike | undefined {
  const text = obj.metadata?.annotations?.[SOURCE_MAP_ANNOTATION];
  if (!text) return undefined;
  try {
    const m = JSON.parse(text) as SourceMapLike;
    return m && typeof m === 'object' && m.templates && m.tasks ? m : undefined;
  } catch {
    return undefined;
  }
}

const ITER = /^(.*)\((\d+):.*\)$/s;

function templateOf(n: ArgoNode): string {
  return n.templateRef?.template ?? n.templateName ?? '';
}

function stateOf(n: ArgoNode): ClusterTaskState {
  switch (n.phase) {
    case 'Succeeded': return n.memoizationStatus?.hit ? 'cached' : 'succeeded';
    case 'Failed': case 'Error': return 'failed';
    case 'Skipped': return n.type === 'Skipped' && /^original pod: /.test(n.message ?? '') ? 'cached' : 'skipped';
    case 'Omitted': return 'omitted';
    case 'Running': return 'running';
    default: return 'pending';
  }
}

/**
 * The tasks of a Workflow, keyed as the local runner keys them. Without a source map every
 * Argo task name is taken as its IR id (which the compiler keeps whenever it can).
 */
export function clusterTasks(wf: WorkflowLike, map?: SourceMapLike): Map<string, ClusterTask> {
  const nodes = wf.status?.nodes ?? {};
  const out = new Map<string, ClusterTask>();
  const name = wf.metadata.name ?? '';
  const idOf = (dagTemplate: string, task: string): string | null => {
    const m = map?.tasks[dagTemplate];
    if (m && Object.hasOwn(m, task)) return m[task] ?? null;
    return task;
  };
  const kindOf = (template: string): string | undefined => map?.templates[template]?.kind;

  const addTask = (key: string, n: ArgoNode): void => {
    let podNodes: string[] = [];
    let message = n.message;
    if (n.type === 'Retry') {
      podNodes = (n.children ?? []).filter((c) => nodes[c]?.type === 'Pod');
      const lastFailed = [...podNodes].reverse().map((c) => nodes[c]).find((c) => c?.phase === 'Failed' || c?.phase === 'Error');
      message ??= lastFailed?.message;
    } else if (n.type === 'Pod') podNodes = [n.id];
    let state = stateOf(n);
    if (n.type === 'Retry' && state === 'running') {
      const last = nodes[podNodes[podNodes.length - 1] ?? ''];
      if (last && (last.phase === 'Failed' || last.phase === 'Error')) state = 'retrying';
    }
    out.set(key, {
      key, state, attempts: Math.max(podNodes.length, state === 'pending' || state === 'skipped' || state === 'omitted' || state === 'cached' ? 0 : 1), podNodes,
      ...(message ? { message } : {}), ...(n.startedAt ? { startedAt: n.startedAt } : {}), ...(n.finishedAt ? { finishedAt: n.finishedAt } : {}),
    });
  };

  // In a DAG a task's node hangs under the tasks it depends on; the DAG it belongs to is its
  // boundary (boundaryID; else the nearest DAG above it).
  const parent = new Map<string, string>();
  for (const n of Object.values(nodes)) for (const c of n.children ?? []) if (!parent.has(c)) parent.set(c, n.id);
  const exitName = `${name}.onExit`;
  const isScopeRoot = (n: ArgoNode) => n.id === name || n.name === name || n.name === exitName;
  const boundaryOf = (n: ArgoNode): ArgoNode | undefined => {
    if (n.boundaryID && nodes[n.boundaryID]) return nodes[n.boundaryID];
    for (let p = parent.get(n.id); p !== undefined; p = parent.get(p)) {
      const pn = nodes[p];
      if (pn && (pn.type === 'DAG' || pn.type === 'Steps')) return pn;
    }
    return undefined;
  };
  const prefixes = new Map<string, string>();
  const prefixOf = (dag: ArgoNode | undefined, depth = 0): string => {
    if (!dag || isScopeRoot(dag) || depth > 100) return '';
    const have = prefixes.get(dag.id);
    if (have !== undefined) return have;
    const outer = boundaryOf(dag);
    const outerPrefix = prefixOf(outer, depth + 1);
    const m = ITER.exec(dag.displayName ?? '');
    const base = m ? (m[1] as string) : (dag.displayName ?? '');
    const id = idOf(outer ? templateOf(outer) : '', base);
    let prefix = outerPrefix;
    if (m) prefix = `${outerPrefix}${id ?? base}[${m[2]}]/`;
    else if (kindOf(templateOf(dag)) === 'nested' && id !== null) prefix = `${outerPrefix}${id}/`;
    prefixes.set(dag.id, prefix);
    return prefix;
  };

  for (const n of Object.values(nodes)) {
    if (!['Pod', 'Retry', 'Skipped', 'Container'].includes(n.type)) continue;
    const p = parent.get(n.id);
    if (p !== undefined && nodes[p]?.type === 'Retry') continue; // an attempt: shown with its retry node
    if (n.type === 'Skipped' && map && kindOf(templateOf(n)) !== undefined && kindOf(templateOf(n)) !== 'component') continue; // a branch not taken
    if (isScopeRoot(n)) { addTask(n.name === exitName ? 'onExit' : (n.displayName ?? n.name), n); continue; }
    const b = boundaryOf(n);
    const m = ITER.exec(n.displayName ?? '');
    const base = m ? (m[1] as string) : (n.displayName ?? n.name.split('.').pop() ?? '');
    const id = idOf(b ? templateOf(b) : '', base);
    if (id === null) continue;
    addTask(`${prefixOf(b)}${id}${m ? `[${m[2]}]` : ''}`, n);
  }
  return out;
}

/** The run's status in Sluice's words. */
export function runStatus(wf: WorkflowLike): 'pending' | 'running' | 'succeeded' | 'failed' {
  switch (wf.status?.phase) {
    case 'Succeeded': return 'succeeded';
    case 'Failed': case 'Error': return 'failed';
    case 'Running': return 'running';
    default: return 'pending';
  }
}

const FINAL = new Set<ClusterTaskState>(['succeeded', 'cached', 'failed', 'skipped', 'omitted']);

/**
 * The events that lead from one snapshot of a run to the next (the local engine's RunEvents):
 * the first snapshot starts the run, a final phase finishes it with `outputs` (the pipeline's
 * outputs, given by the caller: see outputs.ts).
 */
export function eventsBetween(prev: { tasks: ReadonlyMap<string, ClusterTask>; status: string } | undefined, wf: WorkflowLike, tasks: ReadonlyMap<string, ClusterTask>, runId: string, now: number, outputs: () => { readonly [name: string]: RunOutputValue } = () => ({})): RunEvent[] {
  const out: RunEvent[] = [];
  if (!prev) out.push({ type: 'run.started', time: now, runId, ...(wf.metadata.labels?.['sluice.dev/pipeline'] ? { pipeline: wf.metadata.labels['sluice.dev/pipeline'] } : {}) });
  for (const [key, t] of tasks) {
    const before = prev?.tasks.get(key);
    if (before && before.state === t.state && before.attempts === t.attempts) continue;
    const base = { time: now, runId, key };
    if (t.state === 'pending') continue;
    const started = (attempt: number): RunEvent => ({ ...base, type: 'task.started', attempt, gpus: [] });
    const retrying = (attempt: number): RunEvent => ({ ...base, type: 'task.retrying', attempt, message: t.message ?? 'failed; retrying', delayMs: 0 });
    if (t.state === 'running' || t.state === 'retrying' || t.state === 'waiting') {
      if (before && before.attempts < t.attempts && before.state !== 'pending') out.push(retrying(before.attempts));
      if (t.state === 'running') out.push(started(Math.max(1, t.attempts)));
      else if (t.state === 'waiting') out.push({ ...base, type: 'task.waiting', message: t.message ?? 'waiting for a lock' });
      else if (!before || before.state !== 'retrying') out.push(retrying(t.attempts));
      continue;
    }
    if (FINAL.has(t.state) && (!before || !FINAL.has(before.state))) {
      const attempt = Math.max(1, t.attempts);
      if (t.state !== 'skipped' && t.state !== 'omitted' && t.state !== 'cached' && (!before || before.state === 'pending')) out.push(started(attempt));
      if (t.state === 'succeeded') out.push({ ...base, type: 'task.succeeded', attempt });
      else if (t.state === 'cached') out.push({ ...base, type: 'task.cached', message: t.message ?? 'memoized' });
      else if (t.state === 'failed') out.push({ ...base, type: 'task.failed', attempt, message: t.message ?? 'failed' });
      else if (t.state === 'skipped') out.push({ ...base, type: 'task.skipped' });
      else out.push({ ...base, type: 'task.omitted' });
    }
  }
  const status = runStatus(wf);
  if ((status === 'succeeded' || status === 'failed') && prev?.status !== status) {
    out.push({ type: 'run.finished', time: now, runId, status, ...(wf.status?.message ? { message: wf.status.message } : {}), outputs: status === 'succeeded' ? outputs() : {} });
  }
  return out;
}

/** Argo's node id for a node name: the workflow name for the root, else `<workflow>-<fnv32a(name)>`. */
export function argoNodeId(workflowName: string, nodeName: string): string {
  if (nodeName === workflowName) return workflowName;
  let h = 0x811c9dc5;
  for (const b of Buffer.from(nodeName, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${workflowName}-${h >>> 0}`;
}
