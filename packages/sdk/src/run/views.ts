/**
 * What a run backend (the local store in `@sluice/runner`, a cluster namespace in `@sluice/cluster`)
 * returns about runs: plain, JSON-serialisable data (ISO-8601 times, parsed JSON,
 * no database rows), the same from the local store and from a cluster. `sluice show --json` and
 * `sluice runs --json` print these as they are; a web view and a tracking sink read them too.
 */
import type { JsonValue } from '../ir.ts';
import type { RunOutputValue } from './events.ts';

/**
 * Where a run lives, named so that an id never means two runs: a local store (its root
 * directory) or a cluster namespace. Its text form (the runner's `formatRunRef`) is
 * `local:/abs/.sluice#<run>` or `argo:<context>/<namespace>#<run>`.
 */
export type RunRef =
  | { readonly backend: 'local'; readonly store: string; readonly id: string }
  | { readonly backend: 'argo'; readonly cluster: string; readonly namespace: string; readonly id: string };

export type RunStatusView = 'running' | 'succeeded' | 'failed' | 'interrupted';
export type TaskStateView = 'waiting' | 'running' | 'retrying' | 'succeeded' | 'cached' | 'failed' | 'skipped' | 'omitted';

/** How many tasks of a run are in each state (conditions and loops are not counted; nested pipelines are, by their inner tasks). */
export interface TaskCounts {
  readonly total: number;
  readonly succeeded: number;
  readonly cached: number;
  readonly failed: number;
  readonly skipped: number;
  readonly omitted: number;
  /** Started and not finished: running, retrying or waiting for a lock (or cut short by a crash). */
  readonly running: number;
  /** Tasks of the pipeline not reached yet (known once the run's planned total is: loops count after they expand). */
  readonly pending: number;
}

/** Who drives a run that is `running`: a live process, or nobody (its driver died; `resume` continues it). */
export interface DriverView {
  readonly alive: boolean;
  readonly pid?: number;
  readonly host?: string;
  /** Last sign of life (ISO). */
  readonly heartbeatAt?: string;
}

/** One line of `sluice runs`. */
export interface RunSummaryView {
  readonly ref: RunRef;
  /** The run id as the user types it (unique within its backend). */
  readonly id: string;
  readonly pipeline: string;
  readonly status: RunStatusView;
  /** `running` with no live driver: the run stopped without recording it (`sluice resume` continues it). */
  readonly orphaned: boolean;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  /** Until now for a running run. */
  readonly durationMs: number;
  readonly counts: TaskCounts;
  /** "13 done, 1 skipped": the counts as a person reads them. */
  readonly progress: string;
  readonly error: string | null;
}

/** Whether a task's result came from the cache, and why not. */
export type CacheView =
  | { readonly status: 'hit'; readonly from: string }
  | { readonly status: 'miss'; readonly reason: string }
  /** Caching is disabled for the task. */
  | { readonly status: 'off' }
  /** Not applicable: a condition, a loop, a task that never started. */
  | { readonly status: 'none' };

/** One attempt of a task. Attempts are numbered over the run's life (resumes continue the count). */
export interface AttemptView {
  readonly n: number;
  readonly outcome: 'running' | 'succeeded' | 'failed' | 'error' | 'preempted' | 'timeout' | 'invalid' | 'nonretryable' | 'interrupted';
  /** Null when not recorded (the succeeded attempt of a retried task: its start is the previous attempt's end). */
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly message: string | null;
  readonly gpus: readonly string[];
}

/** One task instance of a run (`train`, `each[2]/score`), in DAG order within {@link RunView.tasks}. */
export interface TaskView {
  readonly key: string;
  /** The task id in the pipeline (the last segment of the key, without the loop index). */
  readonly taskId: string;
  /** Component hash; empty for conditions and loops. */
  readonly component: string;
  readonly kind: 'task' | 'condition' | 'loop';
  readonly state: TaskStateView;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
  readonly attempts: readonly AttemptView[];
  readonly cache: CacheView;
  /** Resolved input values (artifacts as references); null for conditions and loops. */
  readonly inputs: { readonly [name: string]: RunOutputValue } | null;
  readonly outputs: { readonly [name: string]: RunOutputValue } | null;
  readonly error: string | null;
}

/** An artifact a task of the run produced (or was served from the cache), and who consumed it. */
export interface ArtifactView {
  /** `<task key>.<output>`. */
  readonly name: string;
  readonly task: string;
  readonly output: string;
  readonly type: string;
  readonly size: number;
  /** sha256 of the content. */
  readonly hash: string;
  readonly metadata: { readonly [key: string]: JsonValue };
  /** Tasks of this run that received it, as `<task key>.<input>` (recorded edges). */
  readonly consumers: readonly string[];
}

/** A mutex, semaphore or GPU (a store-wide lock named by its device) a run or one of its tasks holds now. */
export interface HoldView {
  readonly kind: 'mutex' | 'semaphore' | 'gpu';
  readonly name: string;
  /** Null: held by the run itself. */
  readonly task: string | null;
}

/** Everything `sluice show` prints about a run. */
export interface RunView extends RunSummaryView {
  readonly irHash: string;
  /** The pipeline file and export it came from (null when run from code). */
  readonly entry: string | null;
  readonly exportName: string | null;
  readonly mode: string;
  readonly git: { readonly commit: string; readonly dirty: boolean } | null;
  readonly params: { readonly [name: string]: JsonValue };
  readonly outputs: { readonly [name: string]: RunOutputValue } | null;
  readonly driver: DriverView | null;
  readonly holds: readonly HoldView[];
  /** Every task instance, in DAG order (dependencies first, loop iterations by index). */
  readonly tasks: readonly TaskView[];
  /** Artifacts produced by the run's tasks, in task order then natural output order (`partitions[1]` before `partitions[10]`). */
  readonly artifacts: readonly ArtifactView[];
  /** Warnings the run recorded, in order (a GPU step run on CPU by its declared fallback, ...); absent where none are kept. */
  readonly warnings?: readonly WarningView[];
}

/**
 * One task instance in a few fields: what a list of thousands of tasks shows per row. The rest
 * (attempts, cache miss reason, inputs, outputs) is one {@link TaskView}, read when asked.
 */
export interface TaskBriefView {
  readonly key: string;
  readonly kind: 'task' | 'condition' | 'loop';
  readonly state: TaskStateView;
  readonly durationMs: number | null;
  /** How many attempts it made (0: not started). */
  readonly attempts: number;
}

/**
 * A run as a page of it needs it first: {@link RunView} with every task as a {@link TaskBriefView}
 * (in DAG order) and the first `artifactLimit` artifacts. Cheap for big runs: no attempts, no
 * cache-miss explanations over earlier runs, no input or output values.
 */
export interface RunOverviewView extends Omit<RunView, 'tasks' | 'artifacts'> {
  readonly tasks: readonly TaskBriefView[];
  readonly artifacts: readonly ArtifactView[];
  /** How many artifacts the run has in all (`artifacts` may be the first of them only). */
  readonly artifactCount: number;
}

/** A warning a run recorded; `task` null for one about the whole run. */
export interface WarningView {
  readonly task: string | null;
  readonly time: string;
  readonly message: string;
}

/** Who produced an artifact: a task output of a run. */
export interface ProducerView {
  readonly run: string;
  readonly task: string;
  readonly output: string;
  readonly type: string;
  /** The task was served from the cache of this run and task (`<run>/<key>`). */
  readonly cachedFrom: string | null;
  /** `<commit 12>` or `<commit 12>+dirty`, null outside git. */
  readonly git: string | null;
  readonly runParams: { readonly [name: string]: JsonValue } | null;
}

/**
 * Where an artifact came from, following recorded edges only (task attempt -> artifact ->
 * consumer), never content-hash lookups: two tasks writing the same bytes stay apart.
 */
export interface LineageView {
  readonly hash: string;
  /** Null: a pipeline input (a file given as a parameter), or a store without recorded edges. */
  readonly producedBy: ProducerView | null;
  /** Why `producedBy` is null, in words. */
  readonly origin?: 'pipeline input' | 'not recorded';
  /** The producing task's parameter inputs. */
  readonly params: { readonly [name: string]: JsonValue };
  /** The producing task's artifact inputs, each with its own lineage. */
  readonly inputs: readonly { readonly name: string; readonly lineage: LineageView }[];
  /** True when this producer was already shown higher in the tree (its inputs are not repeated). */
  readonly repeated?: boolean;
}

/** A piece of a task's log. */
export type LogEntry =
  /** Start of an attempt (`time` epoch ms): a marker between attempts. */
  | { readonly kind: 'attempt'; readonly task: string; readonly attempt: number; readonly time: number }
  /** Text the step wrote (whole lines, except possibly at the end of a file being written). */
  | { readonly kind: 'text'; readonly task: string; readonly text: string };

/** Filters of a run backend's `listRuns` (`sluice runs`). */
export interface RunFilter {
  /** @default 20 */
  readonly limit?: number;
  readonly status?: RunStatusView;
  /** Pipeline name. */
  readonly pipeline?: string;
}
