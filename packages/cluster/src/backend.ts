/**
 * The Argo run backend: Sluice runs that are Argo Workflows in one namespace of one cluster,
 * seen through the same plain-data views and RunEvents as local runs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeApiError, type Kube } from './kube.ts';
import { clusterTasks, eventsBetween, readSourceMap, runStatus, type ClusterTask, type WorkflowLike } from './nodes.ts';
import { formulateResubmit, formulateRetry, RetryError } from './retry.ts';
import { LABELS } from './submit.ts';
import type { RunBackendLike, RunDetailView, RunEventLike, RunSummaryView } from './types.ts';

type Obj = Record<string, unknown>;

/** Annotation Argo puts on a workflow's pods: the node the pod runs. */
export const POD_NODE_ID = 'workflows.argoproj.io/node-id';
const POD_WORKFLOW_LABEL = 'workflows.argoproj.io/workflow';

/** A user mistake about a run (unknown run or task, a verb that does not apply): exit 2. */
export class RunUsageError extends Error {
  override readonly name = 'RunUsageError';
}

export class ArgoBackend implements RunBackendLike {
  readonly name: string;
  constructor(readonly kube: Kube) {
    this.name = `argo:${kube.contextName}/${kube.namespace}`;
  }

  private get workflows(): string {
    return this.kube.path('argoproj.io/v1alpha1', 'workflows');
  }

  async workflow(run: string): Promise<Obj> {
    const wf = await this.kube.get(`${this.workflows}/${encodeURIComponent(run)}`);
    if (!wf) throw new RunUsageError(`no run ${run} in ${this.name} (\`sluice runs --cluster\` lists them)`);
    return wf;
  }

  private summary(wf: Obj): RunSummaryView {
    const w = wf as unknown as WorkflowLike;
    return {
      id: w.metadata.name ?? '',
      pipeline: w.metadata.labels?.[LABELS.pipeline] ?? '',
      status: runStatus(w),
      ...(w.status?.startedAt ? { startedAt: w.status.startedAt } : {}),
      ...(w.status?.finishedAt ? { finishedAt: w.status.finishedAt } : {}),
      backend: this.name,
    };
  }

  tasks(wf: Obj): Map<string, ClusterTask> {
    const w = wf as unknown as WorkflowLike;
    return clusterTasks(w, readSourceMap(w));
  }

  private detail(wf: Obj): RunDetailView {
    const w = wf as unknown as WorkflowLike;
    return {
      ...this.summary(wf),
      ...(w.status?.message ? { message: w.status.message } : {}),
      ...(w.metadata.labels?.[LABELS.irHash] ? { irHash: w.metadata.labels[LABELS.irHash] } : {}),
      ...(w.metadata.labels?.[LABELS.gitCommit] ? { gitCommit: w.metadata.labels[LABELS.gitCommit] } : {}),
      tasks: [...this.tasks(wf).values()].map((t) => ({ key: t.key, state: t.state, attempts: t.attempts, ...(t.message ? { message: t.message } : {}), ...(t.startedAt ? { startedAt: t.startedAt } : {}), ...(t.finishedAt ? { finishedAt: t.finishedAt } : {}) })),
    };
  }

  /** Sluice runs (Workflows with the pipeline label), newest first. */
  async runs(o: { limit?: number } = {}): Promise<RunSummaryView[]> {
    const list = await this.kube.ok('GET', `${this.workflows}?labelSelector=${encodeURIComponent(LABELS.pipeline)}`);
    const items = ((list.items as Obj[] | undefined) ?? []).sort((a, b) => String((b.metadata as Obj).creationTimestamp ?? '').localeCompare(String((a.metadata as Obj).creationTimestamp ?? '')));
    return items.slice(0, o.limit ?? 20).map((w) => this.summary(w));
  }

  async show(run: string): Promise<RunDetailView> {
    return this.detail(await this.workflow(run));
  }

  /**
   * Follows a run to its end, handing each change to `onEvent` as the local engine's events;
   * resolves with the final view. Survives watch expiry, throttling and API server restarts.
   */
  async watch(run: string, onEvent: (e: RunEventLike) => void, signal?: AbortSignal): Promise<RunDetailView> {
    let prev: { tasks: Map<string, ClusterTask>; status: string } | undefined;
    const last = await this.kube.follow(this.workflows, run, (wf) => {
      const tasks = this.tasks(wf);
      const status = runStatus(wf as unknown as WorkflowLike);
      for (const e of eventsBetween(prev, wf as unknown as WorkflowLike, tasks, run, Date.now())) onEvent(e);
      prev = { tasks, status };
      return status === 'succeeded' || status === 'failed';
    }, signal ? { signal } : {});
    if (!last.metadata) throw new RunUsageError(`no run ${run} in ${this.name}`);
    return this.detail(last);
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
