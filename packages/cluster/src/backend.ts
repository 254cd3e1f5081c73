/**
 * The Argo run backend: Sluice runs that are Argo Workflows in one namespace of one cluster,
 * seen through the same plain-data views and RunEvents as local runs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeApiError, type Kube } from './kube.ts';
import { clusterTasks, eventsBetween, hydrateWorkflow, readSourceMap, runStatus, type ClusterTask, type ClusterTaskState, type WorkflowLike } from './nodes.ts';
import { runArtifacts, runOutputs } from './outputs.ts';
import { formulateResubmit, formulateRetry, RetryError } from './retry.ts';
import { LABELS } from './submit.ts';
import type { RunEvent, RunFilter, RunRef, RunStatusView, RunSummaryView, RunView, TaskStateView } from '@sluice/sdk';

type Obj = Record<string, unknown>;

/** Annotation Argo puts on a workflow's pods: the node the pod runs. */
export const POD_NODE_ID = 'workflows.argoproj.io/node-id';
const POD_WORKFLOW_LABEL = 'workflows.argoproj.io/workflow';

/** A user mistake about a run (unknown run or task, a verb that does not apply): exit 2. */
export class RunUsageError extends Error {
  override readonly name = 'RunUsageError';
}

type Status = RunStatusView;

const TASK_STATE: Record<ClusterTaskState, TaskStateView> = {
  pending: 'waiting', waiting: 'waiting', running: 'running', retrying: 'retrying', succeeded: 'succeeded', cached: 'cached', failed: 'failed', skipped: 'skipped', omitted: 'omitted',
};

function iso(t: string | undefined): string | null {
  return t ? new Date(t).toISOString() : null;
}

/** Argo operations on the runs of one namespace; their views are the run backend's (`@sluice/sdk` views). */
export class ArgoBackend {
  /** `argo:<context>/<namespace>`. */
  readonly name: string;
  constructor(readonly kube: Kube) {
    this.name = `argo:${kube.contextName}/${kube.namespace}`;
  }

  private get workflows(): string {
    return this.kube.path('argoproj.io/v1alpha1', 'workflows');
  }

  ref(id: string): RunRef {
    return { backend: 'argo', cluster: this.kube.contextName, namespace: this.kube.namespace, id };
  }

  async workflow(run: string): Promise<Obj> {
    const wf = await this.kube.get(`${this.workflows}/${encodeURIComponent(run)}`);
    if (!wf) throw new RunUsageError(`no run ${run} in ${this.name} (\`sluice runs --cluster\` lists them)`);
    return hydrateWorkflow(wf);
  }

  tasks(wf: Obj): Map<string, ClusterTask> {
    const w = wf as unknown as WorkflowLike;
    return clusterTasks(w, readSourceMap(w));
  }

  /** One line of `sluice runs` for a Workflow. */
  summary(wf: Obj, tasks = this.tasks(wf)): RunSummaryView {
    const w = wf as unknown as WorkflowLike;
    const id = w.metadata.name ?? '';
    const st = runStatus(w);
    const status: Status = st === 'pending' ? 'running' : st;
    const counts = { total: tasks.size, succeeded: 0, cached: 0, failed: 0, skipped: 0, omitted: 0, running: 0, pending: 0 };
    for (const t of tasks.values()) {
      if (t.state === 'succeeded') counts.succeeded++;
      else if (t.state === 'cached') counts.cached++;
      else if (t.state === 'failed') counts.failed++;
      else if (t.state === 'skipped') counts.skipped++;
      else if (t.state === 'omitted') counts.omitted++;
      else if (t.state === 'running' || t.state === 'retrying' || t.state === 'waiting') counts.running++;
      else counts.pending++;
    }
    const created = iso(w.status?.startedAt ?? w.metadata.creationTimestamp) ?? new Date(0).toISOString();
    const finishedAt = iso(w.status?.finishedAt);
    return {
      ref: this.ref(id), id, pipeline: w.metadata.labels?.[LABELS.pipeline] ?? '', status, orphaned: false,
      createdAt: created, finishedAt, durationMs: (finishedAt ? Date.parse(finishedAt) : Date.now()) - Date.parse(created),
      counts, progress: `${counts.succeeded + counts.cached + counts.skipped + counts.omitted + counts.failed}/${counts.total}`,
      error: status === 'failed' ? (w.status?.message ?? 'failed') : null,
    };
  }

  /** Everything `sluice show` prints about a Workflow: tasks by key, parameters, the pipeline's outputs. */
  view(wf: Obj): RunView {
    const tasks = this.tasks(wf);
    const w = wf as unknown as WorkflowLike;
    const params: Record<string, string> = {};
    for (const p of ((w.spec?.arguments as { parameters?: { name: string; value?: string }[] } | undefined)?.parameters ?? [])) if (p.value !== undefined) params[p.name] = p.value;
    const commit = w.metadata.labels?.[LABELS.gitCommit];
    return {
      ...this.summary(wf, tasks),
      irHash: w.metadata.labels?.[LABELS.irHash] ?? '', entry: w.metadata.annotations?.['sluice.dev/entry'] ?? null, exportName: null, mode: 'argo',
      git: commit ? { commit, dirty: w.metadata.annotations?.['sluice.dev/git-dirty'] === 'true' } : null,
      params, outputs: runStatus(w) === 'succeeded' ? runOutputs(w) : null, driver: null, holds: [],
      tasks: [...tasks.values()].map((t) => ({
        key: t.key, taskId: t.key.split('/').pop()?.replace(/\[\d+\]$/, '') ?? t.key, component: '', kind: 'task' as const, state: TASK_STATE[t.state],
        startedAt: iso(t.startedAt), finishedAt: iso(t.finishedAt), durationMs: t.startedAt && t.finishedAt ? Date.parse(t.finishedAt) - Date.parse(t.startedAt) : null,
        attempts: t.podNodes.map((_, i) => ({ n: i + 1, outcome: (i < t.podNodes.length - 1 || t.state === 'failed' ? 'failed' : t.state === 'running' || t.state === 'retrying' ? 'running' : 'succeeded') as 'failed' | 'running' | 'succeeded', startedAt: null, finishedAt: null, exitCode: null, signal: null, message: null, gpus: [] })),
        cache: t.state === 'cached' ? { status: 'hit' as const, from: t.message ?? 'memoized' } : { status: 'none' as const },
        inputs: null, outputs: null, error: t.state === 'failed' ? (t.message ?? 'failed') : null,
      })),
      artifacts: runArtifacts(w, tasks),
    };
  }

  /** Sluice runs (Workflows with the pipeline label), newest first. */
  async runs(filter: RunFilter = {}): Promise<RunSummaryView[]> {
    const list = await this.kube.ok('GET', `${this.workflows}?labelSelector=${encodeURIComponent(filter.pipeline ? `${LABELS.pipeline}=${filter.pipeline}` : LABELS.pipeline)}`);
    const items = ((list.items as Obj[] | undefined) ?? []).sort((a, b) => String((b.metadata as Obj).creationTimestamp ?? '').localeCompare(String((a.metadata as Obj).creationTimestamp ?? '')));
    return items.map((w) => this.summary(hydrateWorkflow(w))).filter((r) => !filter.status || r.status === filter.status).slice(0, filter.limit ?? 20);
  }

  async show(run: string): Promise<RunView> {
    return this.view(await this.workflow(run));
  }

  /**
   * Follows a run to its end, handing each change to `onEvent` as the local engine's events;
   * resolves with the final view. Survives watch expiry, throttling and API server restarts.
   */
  async watch(run: string, onEvent: (e: RunEvent) => void, signal?: AbortSignal): Promise<RunView> {
    let prev: { tasks: Map<string, ClusterTask>; status: string } | undefined;
    const last = await this.kube.follow(this.workflows, run, (wf) => {
      hydrateWorkflow(wf);
      const tasks = this.tasks(wf);
      const w = wf as unknown as WorkflowLike;
      const status = runStatus(w);
      for (const e of eventsBetween(prev, w, tasks, run, Date.now(), () => runOutputs(w))) onEvent(e);
      prev = { tasks, status };
      return status === 'succeeded' || status === 'failed';
    }, signal ? { signal } : {});
    if (!last.metadata) throw new RunUsageError(`no run ${run} in ${this.name}`);
    return this.view(hydrateWorkflow(last));
  }

  /** `spec.shutdown: Stop` (running steps finish, exit handlers run) or `Terminate` (everything stops now). */
  async stop(run: string, how: 'stop' | 'terminate' = 'stop'): Promise<void> {
    const wf = await this.workflow(run);
    const status = runStatus(wf as unknown as WorkflowLike);
    if (status === 'succeeded' || status === 'failed') throw new RunUsageError(`run ${run} already ${status}: nothing to ${how}`);
    await this.kube.patch(`${this.workflows}/${encodeURIComponent(run)}`, { spec: { shutdown: how === 'stop' ? 'Stop' : 'Terminate' } });
  }

  private async podsOf(run: string): Promise<Map<string, Obj>> {
    const list = await this.kube.ok('GET', `${this.kube.path('v1', 'pods')}?labelSelector=${encodeURIComponent(`${POD_WORKFLOW_LABEL}=${run}`)}`);
    const byNode = new Map<string, Obj>();
    for (const p of (list.items as Obj[] | undefined) ?? []) {
      const id = ((p.metadata as Obj).annotations as Record<string, string> | undefined)?.[POD_NODE_ID];
      if (id) byNode.set(id, p);
    }
    return byNode;
  }

  /**
   * Argo's retry on the same Workflow: failed nodes (and what is under them) removed and their
   * pods deleted, the groups above them reset, succeeded nodes kept. Returns the run id.
   */
  async retry(run: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const wf = await this.workflow(run);
      let formulated;
      try {
        formulated = formulateRetry(wf);
      } catch (e) {
        if (e instanceof RetryError) throw new RunUsageError(e.message);
        throw e;
      }
      const pods = await this.podsOf(run);
      for (const id of formulated.podNodesToDelete) {
        const pod = pods.get(id);
        if (!pod) continue;
        const res = await this.kube.call('DELETE', this.kube.path('v1', 'pods', String((pod.metadata as Obj).name)));
        if (res.status !== 404 && (res.status < 200 || res.status > 299)) throw this.kube.errorOf('DELETE', 'pod', res);
      }
      const res = await this.kube.call('PUT', `${this.workflows}/${encodeURIComponent(run)}?fieldManager=sluice`, formulated.workflow);
      if (res.status === 409 && attempt < 5) continue; // changed meanwhile (the controller): formulate again
      if (res.status < 200 || res.status > 299) throw this.kube.errorOf('PUT', this.workflows, res);
      return run;
    }
  }

  /** A new run of the same spec; with `memoized`, the old run's succeeded steps are reused. */
  async resubmit(run: string, o: { memoized?: boolean } = {}): Promise<string> {
    const wf = await this.workflow(run);
    let next;
    try {
      next = formulateResubmit(wf, o);
    } catch (e) {
      if (e instanceof RetryError) throw new RunUsageError(e.message);
      throw e;
    }
    const res = await this.kube.create(this.workflows, next);
    if (res.status !== 201 && res.status !== 200) throw this.kube.errorOf('POST', this.workflows, res);
    return String(((res.body as Obj).metadata as Obj).name);
  }

  /**
   * Prints the pod logs of a run (or of one task), attempt by attempt, each line prefixed with the
   * task key when several tasks are shown; with `follow`, until the run ends. A pod that is gone
   * (pod GC, a deleted pod) is said so, with its task and node. Returns the exit code.
   */
  async logs(run: string, task: string | undefined, o: { follow?: boolean; write: (text: string) => void }): Promise<number> {
    const streamed = new Set<string>();
    const active = new Map<string, Promise<void>>();
    const gone = new Set<string>();
    for (;;) {
      const wf = await this.workflow(run);
      const tasks = this.tasks(wf);
      if (task !== undefined && !tasks.has(task)) {
        const known = [...tasks.keys()];
        if (!o.follow || runStatus(wf as unknown as WorkflowLike) !== 'running') {
          throw new RunUsageError(`run ${run} has no task ${task}${known.length ? `; its tasks: ${known.join(', ')}` : ' (no task has started yet)'}`);
        }
      }
      const chosen = [...tasks.values()].filter((t) => task === undefined || t.key === task);
      const prefix = task === undefined;
      const pods = await this.podsOf(run);
      const nodes = ((wf.status as Obj | undefined)?.nodes ?? {}) as Record<string, { phase?: string }>;
      for (const t of chosen) {
        for (const [i, nodeId] of t.podNodes.entries()) {
          if (streamed.has(nodeId)) continue;
          const pod = pods.get(nodeId);
          const phase = nodes[nodeId]?.phase;
          const label = `${t.key}${t.podNodes.length > 1 ? ` (attempt ${i + 1})` : ''}`;
          if (!pod) {
            if (phase === 'Pending' || phase === undefined) continue; // not created yet
            if (!gone.has(nodeId)) {
              gone.add(nodeId);
              o.write(`${prefix ? `[${label}] ` : ''}the pod of ${label} (node ${nodeId}) is gone: garbage-collected by the workflow's podGC or deleted, and its logs with it (Argo keeps them only with archiveLogs in an artifact repository)\n`);
            }
            continue;
          }
          const podPhase = String(((pod.status as Obj | undefined)?.phase) ?? 'Pending');
          if (podPhase === 'Pending') continue;
          streamed.add(nodeId);
          const name = String((pod.metadata as Obj).name);
          const follow = o.follow && podPhase === 'Running';
          const path = `${this.kube.path('v1', 'pods', name, 'log')}?container=main${follow ? '&follow=true' : ''}`;
          const p = this.kube.stream(path, (line) => { o.write(`${prefix ? `[${label}] ` : ''}${line}\n`); }).then(() => {}, (e: unknown) => {
            if (e instanceof KubeApiError && e.status === 404) o.write(`${prefix ? `[${label}] ` : ''}the pod of ${label} was deleted while its logs were read\n`);
            else o.write(`${prefix ? `[${label}] ` : ''}cannot read the logs of ${label}: ${(e as Error).message}\n`);
          });
          active.set(nodeId, p);
          if (!o.follow) await p;
        }
      }
      const status = runStatus(wf as unknown as WorkflowLike);
      if (!o.follow || status === 'succeeded' || status === 'failed') {
        await Promise.all(active.values());
        return 0;
      }
      await sleep(1000);
    }
  }
}
