/**
 * A Workflow's node status, read as Sluice tasks: every Argo node mapped back to the task key a
 * local run would use (`train`, `sweep[2]/train-model`, `sub/inner`) through the compile source
 * map, and the difference of two snapshots as the same RunEvents the local engine emits, so that
 * `sluice watch` shows a cluster run with the local run's view.
 */
import type { RunEventLike, TaskStateName } from './types.ts';

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
  readonly state: TaskStateName;
  readonly attempts: number;
  /** Node ids of the task's pods, attempt by attempt. */
  readonly podNodes: readonly string[];
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
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

function stateOf(n: ArgoNode): TaskStateName {
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

  // children of a DAG node are its tasks; `dagTemplate` is the template whose task names they carry
  const visitDag = (dag: ArgoNode, prefix: string, seen: Set<string>): void => {
    for (const cid of dag.children ?? []) {
      const c = nodes[cid];
      if (!c || seen.has(cid)) continue;
      seen.add(cid);
      visitTask(c, templateOf(dag), prefix, seen);
    }
  };

  const visitTask = (n: ArgoNode, dagTemplate: string, prefix: string, seen: Set<string>): void => {
    const display = n.displayName ?? n.name.split('.').pop() ?? '';
    const id = idOf(dagTemplate, display.replace(ITER, '$1'));
    if (n.type === 'TaskGroup') {
      // a loop: its children are the iterations `task(i:item)`
      for (const cid of n.children ?? []) {
        const it = nodes[cid];
        if (!it || seen.has(cid)) continue;
        seen.add(cid);
        const m = ITER.exec(it.displayName ?? '');
        const at = m ? `${prefix}${id ?? m[1]}[${m[2]}]` : `${prefix}${id}`;
        if (it.type === 'DAG' || it.type === 'Steps') visitDag(it, `${at}/`, seen);
        else addTask(at, it);
      }
      return;
    }
    if (n.type === 'DAG' || n.type === 'Steps') {
      const kind = kindOf(templateOf(n));
      if (kind === 'nested' && id !== null) visitDag(n, `${prefix}${id}/`, seen);
      else visitDag(n, prefix, seen);
      return;
    }
    if (id === null) return;
    if (n.type === 'Pod' || n.type === 'Retry' || n.type === 'Skipped' || n.type === 'Container') addTask(`${prefix}${id}`, n);
  };

  const root = nodes[name] ?? Object.values(nodes).find((n) => !Object.values(nodes).some((p) => p.children?.includes(n.id)) && !n.name.endsWith('.onExit'));
  const seen = new Set<string>(root ? [root.id] : []);
  if (root) {
    if (root.type === 'DAG' || root.type === 'Steps') visitDag(root, '', seen);
    else addTask(root.displayName ?? root.name, root);
  }
  const exit = Object.values(nodes).find((n) => n.name === `${name}.onExit`);
  if (exit && !seen.has(exit.id)) {
    seen.add(exit.id);
    if (exit.type === 'DAG') visitDag(exit, '', seen);
    else addTask('onExit', exit);
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

const FINAL = new Set<TaskStateName>(['succeeded', 'cached', 'failed', 'skipped', 'omitted']);

/**
 * The events that lead from one snapshot of a run to the next (the local engine's event
 * vocabulary): the first snapshot starts the run, a final phase finishes it.
 */
export function eventsBetween(prev: { tasks: ReadonlyMap<string, ClusterTask>; status: string } | undefined, wf: WorkflowLike, tasks: ReadonlyMap<string, ClusterTask>, runId: string, now: number): RunEventLike[] {
  const out: RunEventLike[] = [];
  if (!prev) out.push({ type: 'run.started', time: now, runId });
  for (const [key, t] of tasks) {
    const before = prev?.tasks.get(key);
    if (before && before.state === t.state && before.attempts === t.attempts) continue;
    const base = { time: now, runId, key };
    if (t.state === 'pending') continue;
    if (t.state === 'running' || t.state === 'retrying') {
      if (before && before.attempts < t.attempts && before.state !== 'pending') out.push({ ...base, type: 'task.retrying', attempt: before.attempts, ...(t.message ? { message: t.message } : {}) });
      if (t.state === 'running') out.push({ ...base, type: 'task.started', attempt: Math.max(1, t.attempts) });
      else if (!before || before.state !== 'retrying') out.push({ ...base, type: 'task.retrying', attempt: t.attempts, ...(t.message ? { message: t.message } : {}) });
      continue;
    }
    if (FINAL.has(t.state) && (!before || !FINAL.has(before.state))) {
      if (t.state !== 'skipped' && t.state !== 'omitted' && t.state !== 'cached' && (!before || before.state === 'pending')) out.push({ ...base, type: 'task.started', attempt: Math.max(1, t.attempts) });
      const type = t.state === 'succeeded' ? 'task.succeeded' : t.state === 'cached' ? 'task.cached' : t.state === 'failed' ? 'task.failed' : t.state === 'skipped' ? 'task.skipped' : 'task.omitted';
      out.push({ ...base, type, ...(t.state === 'failed' && t.message ? { message: t.message } : {}), ...(t.state === 'cached' ? { message: t.message ?? 'memoized' } : {}) });
    }
  }
  const status = runStatus(wf);
  if ((status === 'succeeded' || status === 'failed') && prev?.status !== status) {
    out.push({ type: 'run.finished', time: now, runId, status, ...(wf.status?.message ? { message: wf.status.message } : {}) });
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
