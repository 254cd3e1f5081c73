/**
 * The Argo backend in the shape of the runner's `RunBackend` seam
 * (packages/runner/src/backend/backend.ts): the views and RunEvents of `@sluice/sdk`, the module
 * both packages share. The interface itself is the runner's (this package must not depend on the
 * runner, which depends on it); a test checks that this class is one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ArgoBackend, RunUsageError } from './backend.ts';
import type { Kube } from './kube.ts';
import { runStatus, type WorkflowLike } from './nodes.ts';
import { prepareSubmission, submitObjects } from './submit.ts';
import type { RunEvent, RunFilter, RunOutputValue, RunRef, RunStatusView, RunSummaryView, RunView } from '@sluice/sdk';

/** How a caller follows a run (the runner's DriveOptions). */
interface DriveLike { readonly onEvent?: (e: RunEvent) => void; readonly signal?: AbortSignal; readonly detach?: boolean }
/** How a run ended (the runner's RunOutcome). */
interface RunOutcome { readonly ref: RunRef; readonly id: string; readonly status: RunStatusView; readonly outputs: { readonly [name: string]: RunOutputValue }; readonly error?: string }

type Status = RunStatusView;

/** Argo runs through the seam: `listRuns`, `getRun`, `logs`, `submit`, `retry`, `stop`. */
export class ArgoRunBackend {
  readonly kind = 'argo' as const;
  readonly location: string;
  readonly argo: ArgoBackend;
  constructor(readonly kube: Kube) {
    this.argo = new ArgoBackend(kube);
    this.location = `${kube.contextName}/${kube.namespace}`;
  }

  private ref(id: string): RunRef {
    return this.argo.ref(id);
  }

  async listRuns(filter: RunFilter = {}): Promise<readonly RunSummaryView[]> {
    return this.argo.runs(filter);
  }

  async getRun(run: string): Promise<RunView> {
    return this.argo.show(run);
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

  private async follow(id: string, opts: DriveLike = {}): Promise<RunOutcome> {
    if (opts.detach) return { ref: this.ref(id), id, status: 'running', outputs: {} };
    const v = await this.argo.watch(id, (e) => opts.onEvent?.(e), opts.signal);
    return { ref: this.ref(id), id, status: v.status, outputs: v.outputs ?? {}, ...(v.error && v.status === 'failed' ? { error: v.error } : {}) };
  }

  async submit(req: { file: string; exportName?: string; params?: Readonly<Record<string, unknown>> }, opts: DriveLike = {}) {
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.params ?? {})) params[k] = typeof v === 'string' ? v : JSON.stringify(v);
    const sub = await prepareSubmission(req.file, { ...(req.exportName ? { exportName: req.exportName } : {}), params, namespace: this.kube.namespace });
    const r = await submitObjects(this.kube, sub);
    return this.follow(r.workflow, opts);
  }

  async resume(run: string): Promise<never> {
    throw new RunUsageError(`a cluster run is continued by the controller; to run its failed steps again: sluice retry ${run}`);
  }

  async retry(run: string, opts: DriveLike = {}) {
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
