/**
 * The run backend seam, as this package implements it for Argo. Mirrors the shape the runner's
 * `RunBackend` (packages/runner/src/backend/) gives local runs: plain-data run views and the
 * engine's RunEvent vocabulary, so that `sluice runs/show/watch/logs` treat both alike.
 * (A local mirror until the runner's interface is on main; structurally the same.)
 */

export type TaskStateName = 'pending' | 'waiting' | 'running' | 'retrying' | 'succeeded' | 'cached' | 'failed' | 'skipped' | 'omitted';

/** The local engine's RunEvent (packages/runner/src/engine/engine.ts), structurally. */
export interface RunEventLike {
  readonly type: 'run.started' | 'run.resumed' | 'run.waiting' | 'run.finished' | 'task.waiting' | 'task.started' | 'task.retrying' | 'task.succeeded' | 'task.cached' | 'task.failed' | 'task.skipped' | 'task.omitted' | 'task.resumed' | 'condition.decided' | 'warning';
  readonly time: number;
  readonly runId: string;
  readonly key?: string;
  readonly attempt?: number;
  readonly message?: string;
  readonly status?: string;
  readonly delayMs?: number;
}

/** One run in a list (`sluice runs`). */
export interface RunSummaryView {
  /** `<workflow name>` (unique in its namespace). */
  readonly id: string;
  readonly pipeline: string;
  readonly status: 'pending' | 'running' | 'succeeded' | 'failed';
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Where it runs: `argo:<context>/<namespace>` (local runs: `local:<store>`). */
  readonly backend: string;
}

/** One run in detail (`sluice show`). */
export interface RunDetailView extends RunSummaryView {
  readonly message?: string;
  readonly irHash?: string;
  readonly gitCommit?: string;
  readonly tasks: readonly { readonly key: string; readonly state: TaskStateName; readonly attempts: number; readonly message?: string; readonly startedAt?: string; readonly finishedAt?: string }[];
}

/** What the runner's RunBackend asks of a backend (Argo implements all but resume). */
export interface RunBackendLike {
  readonly name: string;
  runs(o?: { limit?: number }): Promise<RunSummaryView[]>;
  show(run: string): Promise<RunDetailView>;
  logs(run: string, task: string | undefined, o: { follow?: boolean; write: (text: string) => void }): Promise<number>;
  stop(run: string, how?: 'stop' | 'terminate'): Promise<void>;
  retry(run: string): Promise<string>;
  watch(run: string, onEvent: (e: RunEventLike) => void, signal?: AbortSignal): Promise<RunDetailView>;
}
