/**
 * What a run reports as it goes (shared by the local engine in `@sluice/runner` and the Argo
 * backend in `@sluice/cluster`, which depend on this package and not on each other): one interface per event, tagged by `type`, so a consumer that
 * switches on `type` sees exactly the fields that event has (and a new event without a handler
 * fails to type-check where the consumer is exhaustive). The local engine emits these; a cluster
 * backend translates its watch (Argo node phases) into the same events, so the live view, `--json`
 * lines, a web view and a tracking sink read one vocabulary.
 *
 * The tag is `type` (not `kind`): `sluice run --json` has written it since the first release,
 * and every event carries `time` (epoch ms) and the `runId` it belongs to.
 */
import type { JsonValue } from '../ir.ts';

/** An artifact as a run's output: its type, content hash, local path (or cluster URI) and metadata. */
export interface RunOutputArtifact {
  readonly kind: 'artifact';
  readonly type: string;
  readonly hash: string;
  readonly path: string;
  readonly uri: string;
  readonly metadata: { readonly [key: string]: JsonValue };
}
/** A pipeline output value: a parameter (JSON) or an artifact, or a list of artifacts from a loop. */
export type RunOutputValue = JsonValue | RunOutputArtifact | readonly RunOutputArtifact[];

interface Base {
  /** Epoch milliseconds. */
  readonly time: number;
  readonly runId: string;
}
interface TaskBase extends Base {
  /** The task instance key as the user names it: `train`, `each[2]/score`, `nested/inner`. */
  readonly key: string;
}

/** What a run plans, for a live view's header: the pipeline's name and its task count (`plannedExact` false when loops over run-time lists may add more). */
interface RunPlan {
  readonly pipeline?: string;
  readonly planned?: number;
  readonly plannedExact?: boolean;
}
/** A new run starts (its record exists and the driver holds it). */
export interface RunStartedEvent extends Base, RunPlan { readonly type: 'run.started' }
/** A stopped or crashed run continues: finished tasks are kept. */
export interface RunResumedEvent extends Base, RunPlan { readonly type: 'run.resumed' }
/** The run waits for its own mutexes or semaphores; `message` says which and who holds them. */
export interface RunWaitingEvent extends Base { readonly type: 'run.waiting'; readonly message: string }
/** The run ended; `outputs` are the pipeline's outputs (empty unless it succeeded). */
export interface RunFinishedEvent extends Base {
  readonly type: 'run.finished';
  readonly status: 'succeeded' | 'failed' | 'interrupted';
  /** Why it failed or stopped. */
  readonly message?: string;
  readonly outputs: { readonly [name: string]: RunOutputValue };
}
/** A task waits for a mutex or semaphore; `message` names the holders. */
export interface TaskWaitingEvent extends TaskBase { readonly type: 'task.waiting'; readonly message: string }
/** Attempt `attempt` (1-based over the run's life, across resumes) of a task starts. */
export interface TaskStartedEvent extends TaskBase { readonly type: 'task.started'; readonly attempt: number; readonly gpus: readonly string[] }
/** Attempt `attempt` failed and the task's retry policy starts another after `delayMs`. */
export interface TaskRetryingEvent extends TaskBase { readonly type: 'task.retrying'; readonly attempt: number; readonly message: string; readonly delayMs: number }
/** The task succeeded with attempt `attempt`; its outputs are durable. */
export interface TaskSucceededEvent extends TaskBase { readonly type: 'task.succeeded'; readonly attempt: number }
/** The task was served from the cache; `message` says from which run and task (`from <run>/<key>`). */
export interface TaskCachedEvent extends TaskBase { readonly type: 'task.cached'; readonly message: string }
/** The task failed for good (`attempt` is absent when it failed before any attempt, e.g. a bad input value). */
export interface TaskFailedEvent extends TaskBase { readonly type: 'task.failed'; readonly attempt?: number; readonly message: string }
/** The task's condition branch was not taken. */
export interface TaskSkippedEvent extends TaskBase { readonly type: 'task.skipped' }
/** The task did not run because something it depends on failed, or the run stopped. */
export interface TaskOmittedEvent extends TaskBase { readonly type: 'task.omitted' }
/** On resume: the task had finished before (`status` `succeeded` or `cached`) and is not run again. */
export interface TaskResumedEvent extends TaskBase { readonly type: 'task.resumed'; readonly status: 'succeeded' | 'cached' }
/** A condition was evaluated; `message` is the branch taken (`then` or `else`). */
export interface ConditionDecidedEvent extends TaskBase { readonly type: 'condition.decided'; readonly message: 'then' | 'else' }
/** Something the user should know that does not stop the run (a host-run container, an unsized semaphore, a lock taken over). */
export interface WarningEvent extends Base { readonly type: 'warning'; readonly key?: string; readonly message: string }

/** Every event of a run. */
export type RunEvent =
  | RunStartedEvent | RunResumedEvent | RunWaitingEvent | RunFinishedEvent
  | TaskWaitingEvent | TaskStartedEvent | TaskRetryingEvent | TaskSucceededEvent | TaskCachedEvent | TaskFailedEvent
  | TaskSkippedEvent | TaskOmittedEvent | TaskResumedEvent | ConditionDecidedEvent | WarningEvent;

export type RunEventType = RunEvent['type'];
/** The event of one type: `EventOf<'task.failed'>`. */
export type EventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;

/** Every event type, in the order a run reports them (for exhaustive tables and docs). */
export const RUN_EVENT_TYPES = [
  'run.started', 'run.resumed', 'run.waiting', 'task.waiting', 'task.started', 'task.retrying', 'task.succeeded', 'task.cached',
  'task.failed', 'task.skipped', 'task.omitted', 'task.resumed', 'condition.decided', 'warning', 'run.finished',
] as const satisfies readonly RunEventType[];

/** The task key of an event about a task (a warning may name one too), else undefined. */
export function eventKey(e: RunEvent): string | undefined {
  return 'key' in e ? e.key : undefined;
}

/** Every field any event may have, all optional: for printers that show whatever an event carries. */
export interface EventFields {
  readonly type: RunEventType;
  readonly time: number;
  readonly runId: string;
  readonly key?: string;
  readonly attempt?: number;
  readonly message?: string;
  readonly status?: string;
  readonly delayMs?: number;
  readonly gpus?: readonly string[];
  readonly outputs?: { readonly [name: string]: RunOutputValue };
}
/** An event seen through {@link EventFields} (no copy). */
export function eventFields(e: RunEvent): EventFields {
  return e;
}
