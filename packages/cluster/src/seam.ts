/**
 * The Argo backend in the shape of the runner's `RunBackend` seam
 * (packages/runner/src/backend/backend.ts): plain-data views and strict RunEvents. Written
 * structurally (this package must not depend on the runner, which depends on it); a type test
 * checks it is assignable to `RunBackend`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ArgoBackend, RunUsageError } from './backend.ts';
import type { Kube } from './kube.ts';
import { runStatus, type ClusterTask, type WorkflowLike } from './nodes.ts';
import { LABELS, prepareSubmission, submitObjects } from './submit.ts';
import type { RunEventLike } from './types.ts';

type Obj = Record<string, unknown>;
type Status = 'running' | 'succeeded' | 'failed' | 'interrupted';
type Ref = { readonly backend: 'argo'; readonly cluster: string; readonly namespace: string; readonly id: string };

const TASK_STATE: Record<string, 'waiting' | 'running' | 'retrying' | 'succeeded' | 'cached' | 'failed' | 'skipped' | 'omitted'> = {
  pending: 'waiting', waiting: 'waiting', running: 'running', retrying: 'retrying', succeeded: 'succeeded', cached: 'cached', failed: 'failed', skipped: 'skipped', omitted: 'omitted',
};

function iso(t: string | undefined): string | null {
  return t ? new Date(t).toISOString() : null;
}

/** The engine's strict event from the loose one `nodes.ts` derives. */
export function strictEvent(e: RunEventLike): Record<string, unknown> {
  const base = { time: e.time, runId: e.runId };
  switch (e.type) {
    case 'task.started': return { ...base, type: e.type, key: e.key, attempt: e.attempt ?? 1, gpus: [] };
    case 'task.retrying': return { ...base, type: e.type, key: e.key, attempt: e.attempt ?? 1, message: e.message ?? 'failed; retrying', delayMs: e.delayMs ?? 0 };
    case 'task.succeeded': return { ...base, type: e.type, key: e.key, attempt: e.attempt ?? 1 };
    case 'task.failed': return { ...base, type: e.type, key: e.key, message: e.message ?? 'failed' };
    case 'task.cached': return { ...base, type: e.type, key: e.key, message: e.message ?? 'memoized' };
    case 'run.finished': return { ...base, type: e.type, status: e.status === 'succeeded' ? 'succeeded' : 'failed', ...(e.message ? { message: e.message } : {}), outputs: {} };
    case 'warning': return { ...base, type: e.type, message: e.message ?? '' };
    default: return { ...base, type: e.type, ...(e.key ? { key: e.key } : {}) };
  }
}

/** Argo runs through the seam: `listRuns`, `getRun`, `logs`, `submit`, `retry`, `stop`. */
export class ArgoRunBackend {
  readonly kind = 'argo' as const;
  readonly location: string;
  readonly argo: ArgoBackend;
  constructor(readonly kube: Kube) {
    this.argo = new ArgoBackend(kube);
    this.location = `${kube.contextName}/${kube.namespace}`;
  }

  private ref(id: string): Ref {
    return { backend: 'argo', cluster: this.kube.contextName, namespace: this.kube.namespace, id };
  }

  private summary(wf: Obj, tasks: Map<string, ClusterTask>) {
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
      else if (t.state === 'running' || t.state === 'retrying') counts.running++;
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

  async listRuns(filter: { limit?: number; status?: Status; pipeline?: string } = {}) {
    const list = await this.kube.ok('GET', `${this.kube.path('argoproj.io/v1alpha1', 'workflows')}?labelSelector=${encodeURIComponent(filter.pipeline ? `${LABELS.pipeline}=${filter.pipeline}` : LABELS.pipeline)}`);
    const items = ((list.items as Obj[] | undefined) ?? []).sort((a, b) => String((b.metadata as Obj).creationTimestamp ?? '').localeCompare(String((a.metadata as Obj).creationTimestamp ?? '')));
    return items.map((w) => this.summary(w, this.argo.tasks(w))).filter((r) => !filter.status || r.status === filter.status).slice(0, filter.limit ?? 20);
  }

  async getRun(run: string) {
    const wf = await this.argo.workflow(run);
    const tasks = this.argo.tasks(wf);
    const w = wf as unknown as WorkflowLike;
    const params: Record<string, string> = {};
    for (const p of ((w.spec?.arguments as { parameters?: { name: string; value?: string }[] } | undefined)?.parameters ?? [])) if (p.value !== undefined) params[p.name] = p.value;
    const commit = w.metadata.labels?.[LABELS.gitCommit];
    return {
      ...this.summary(wf, tasks),
      irHash: w.metadata.labels?.[LABELS.irHash] ?? '', entry: w.metadata.annotations?.['sluice.dev/entry'] ?? null, exportName: null, mode: 'argo',
      git: commit ? { commit, dirty: w.metadata.annotations?.['sluice.dev/git-dirty'] === 'true' } : null,
      params, outputs: null, driver: null, holds: [],
      tasks: [...tasks.values()].map((t) => ({
        key: t.key, taskId: t.key.split('/').pop()?.replace(/\[\d+\]$/, '') ?? t.key, component: '', kind: 'task' as const, state: TASK_STATE[t.state] ?? 'waiting',
        startedAt: iso(t.startedAt), finishedAt: iso(t.finishedAt), durationMs: t.startedAt && t.finishedAt ? Date.parse(t.finishedAt) - Date.parse(t.startedAt) : null,
        attempts: t.podNodes.map((_, i) => ({ n: i + 1, outcome: (i < t.podNodes.length - 1 || t.state === 'failed' ? 'failed' : t.state === 'running' || t.state === 'retrying' ? 'running' : 'succeeded') as 'failed' | 'running' | 'succeeded', startedAt: null, finishedAt: null, exitCode: null, signal: null, message: null, gpus: [] })),
        cache: t.state === 'cached' ? { status: 'hit' as const, from: t.message ?? 'memoized' } : { status: 'none' as const },
        inputs: null, outputs: null, error: t.state === 'failed' ? (t.message ?? 'failed') : null,
      })),
      artifacts: [],
    };
  }

  async lineage(): Promise<never> {
    throw new RunUsageError('lineage is recorded by local runs only; on the cluster, artifacts are in the artifact repository (sluice show <run> --cluster lists the tasks)');
  }

  async *logs(run: string, opts: { task?: string; follow?: boolean; signal?: AbortSignal } = {}) {
    const queue: string[] = [];
    let done = false;
    let failure: unknown;
    void this.argo.logs(run, opts.task, { ...(opts.follow ? { follow: true } : {}), write: (t) => { queue.push(t); } }).then(() => { done = true; }, (e: unknown) => { failure = e; done = true; });
    for (;;) {
      while (queue.length) {
        const text = queue.shift() as string;
        const m = /^\[([^\]]+?)(?: \(attempt \d+\))?\] ([\s\S]*)$/.exec(text);
        yield { kind: 'text' as const, task: m?.[1] ?? opts.task ?? '', text: m?.[2] ?? text };
      }
      if (done) break;
      if (opts.signal?.aborted) return;
      await sleep(100);
    }
    if (failure) throw failure;
  }

  private async follow(id: string, opts: { onEvent?: (e: never) => void; signal?: AbortSignal; detach?: boolean } = {}) {
    if (opts.detach) return { ref: this.ref(id), id, status: 'running' as Status, outputs: {} };
    const v = await this.argo.watch(id, (e) => opts.onEvent?.(strictEvent(e) as never), opts.signal);
    const status: Status = v.status === 'succeeded' ? 'succeeded' : v.status === 'failed' ? 'failed' : 'running';
    return { ref: this.ref(id), id, status, outputs: {}, ...(v.message && status === 'failed' ? { error: v.message } : {}) };
  }

  async submit(req: { file: string; exportName?: string; params?: Readonly<Record<string, unknown>> }, opts: { onEvent?: (e: never) => void; signal?: AbortSignal; detach?: boolean } = {}) {
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.params ?? {})) params[k] = typeof v === 'string' ? v : JSON.stringify(v);
    const sub = await prepareSubmission(req.file, { ...(req.exportName ? { exportName: req.exportName } : {}), params, namespace: this.kube.namespace });
    const r = await submitObjects(this.kube, sub);
    return this.follow(r.workflow, opts);
  }

  async resume(run: string): Promise<never> {
    throw new RunUsageError(`a cluster run is continued by the controller; to run its failed steps again: sluice retry ${run}`);
  }

  async retry(run: string, opts: { onEvent?: (e: never) => void; signal?: AbortSignal; detach?: boolean } = {}) {
    await this.argo.retry(run);
    return this.follow(run, opts);
  }

  async stop(run: string) {
    const wf = await this.argo.workflow(run);
    const st = runStatus(wf as unknown as WorkflowLike);
    if (st === 'succeeded' || st === 'failed') return { ref: this.ref(run), action: 'finished' as const, status: st as Status, message: `run ${run} already ${st}` };
    await this.argo.stop(run, 'stop');
    return { ref: this.ref(run), action: 'stopping' as const, status: 'running' as Status, message: `stopping ${run} (spec.shutdown: Stop): running steps finish, exit handlers run` };
  }

  close(): void {}
}
