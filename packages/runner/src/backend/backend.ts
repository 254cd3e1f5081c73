/**
 * The run backend seam: what the CLI (`runs`, `show`, `logs`, `lineage`, `run`, `resume`, `retry`,
 * `stop`), a web view and a tracking sink ask of wherever runs live. The local engine implements
 * it today ({@link LocalBackend}, runs in this process with state under `.sluice/`); the Argo
 * backend implements it for a cluster namespace (runs are Workflows, driven by the controller).
 *
 * Rules every implementation keeps:
 * - Runs are named by the id the user sees (`iris-20261201-221500-ab12`), a unique prefix of
 *   it, or `latest` (`latest:<pipeline>`); {@link RunView.ref} names the backend too, so an id
 *   never means two runs.
 * - Everything returned is plain JSON-serialisable data (ISO times, parsed values), in the
 *   shapes of `views.ts`; events are the {@link RunEvent} union of `events.ts`. Task keys are the
 *   user's (`each[2]/score`), never emitted names (a cluster backend maps Argo node names back
 *   through the compile source map).
 * - User mistakes (unknown run, unknown task, a run that cannot be retried) throw a
 *   `RunnerError` with a one-line message saying what exists; the CLI prints it and exits 2.
 */
import type { RunEvent } from './events.ts';
import type { OutputValue } from './events.ts';
import type { LineageView, LogEntry, RunFilter, RunRef, RunStatusView, RunSummaryView, RunView } from './views.ts';

/** A new run of a pipeline. */
export interface SubmitRequest {
  /** The pipeline file (TypeScript), as `sluice run` takes it. */
  readonly file: string;
  /** Named export holding the pipeline. @default the default export */
  readonly exportName?: string;
  /** Pipeline parameters; missing ones take their defaults. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** `params` are command-line text, coerced by their declared types. @default false */
  readonly paramsFromCli?: boolean;
  /** Id of the new run. @default `<pipeline>-<timestamp>-<random>` */
  readonly runId?: string;
  /** Do not reuse cached results (they are still recorded). @default false */
  readonly noCache?: boolean;
}

/** How the caller follows a run it starts or continues. */
export interface DriveOptions {
  /** Every event of the run, as it happens. */
  readonly onEvent?: (e: RunEvent) => void;
  /** Abort to stop following: the local backend stops the run (steps get their grace period); a cluster backend only stops watching unless `stopOnAbort`. */
  readonly signal?: AbortSignal;
  /** Return once the run is accepted (status `running`) instead of when it ends. A backend that drives runs in this process (local) refuses it. @default false */
  readonly detach?: boolean;
}

/** How a run ended (or, detached, that it started). */
export interface RunOutcome {
  readonly ref: RunRef;
  readonly id: string;
  readonly status: RunStatusView;
  /** The pipeline's outputs (artifacts with their local path or URI); empty unless succeeded. */
  readonly outputs: { readonly [name: string]: OutputValue };
  readonly error?: string;
}

/** Options of {@link RunBackend.logs}. */
export interface LogOptions {
  /** Only this task's log (a task key as `show` lists it). */
  readonly task?: string;
  /** Keep reading until the run ends (or its driver is found gone). @default false */
  readonly follow?: boolean;
  /** Ends a follow early. */
  readonly signal?: AbortSignal;
  /** Time between two looks at a followed log. @default 500 */
  readonly pollMs?: number;
}

/** What {@link RunBackend.stop} did. */
export interface StopResult {
  readonly ref: RunRef;
  /** `stopping`: asked the driver (or controller) to stop; `marked`: the driver was gone, so the run is now recorded as interrupted; `finished`: nothing to stop. */
  readonly action: 'stopping' | 'marked' | 'finished';
  readonly status: RunStatusView;
  readonly message: string;
}

export interface RunBackend {
  /** Which kind of backend this is (the `backend` of every {@link RunRef} it returns). */
  readonly kind: RunRef['backend'];
  /** Where its runs live, for messages: a store directory, or `<context>/<namespace>`. */
  readonly location: string;

  /** Runs, newest first (at most `filter.limit`, default 20), with their task counts. */
  listRuns(filter?: RunFilter): Promise<readonly RunSummaryView[]>;
  /** One run: tasks in DAG order with attempts and cache hits/misses (and why), artifacts, outputs. */
  getRun(run: string): Promise<RunView>;
  /**
   * An artifact's lineage, following recorded edges (producer task -> its inputs -> their
   * producers). `artifact` is a sha256 prefix, a store path, or `<task>.<output>` of `opts.run`
   * (default `latest`).
   */
  lineage(artifact: string, opts?: { readonly run?: string }): Promise<LineageView>;
  /**
   * A run's step logs (one task's with `opts.task`), with a marker where each attempt starts.
   * With `follow`, yields new output until the run ends. An unknown task throws, naming the
   * run's real task keys.
   */
  logs(run: string, opts?: LogOptions): AsyncIterable<LogEntry>;
  /** Starts a run of a pipeline file and (unless `detach`) waits for its end. */
  submit(req: SubmitRequest, opts?: DriveOptions): Promise<RunOutcome>;
  /** Continues a stopped or crashed run: finished tasks are kept, the rest run. */
  resume(run: string, opts?: DriveOptions): Promise<RunOutcome>;
  /** Runs the failed and unfinished tasks of a failed or interrupted run again (a succeeded run is refused). */
  retry(run: string, opts?: DriveOptions): Promise<RunOutcome>;
  /** Asks a running run to stop (steps get their grace period to checkpoint); `resume` continues it. */
  stop(run: string): Promise<StopResult>;
  /** Releases what the backend holds (connections, watches). */
  close(): void;
}

/** The text form of a run ref: `local:/abs/.sluice#<id>`, `argo:<cluster>/<namespace>#<id>`. */
export function formatRunRef(ref: RunRef): string {
  return ref.backend === 'local' ? `local:${ref.store}#${ref.id}` : `argo:${ref.cluster}/${ref.namespace}#${ref.id}`;
}

/** Parses {@link formatRunRef}'s form; a bare id (or `latest`) is `{ id }` for the current backend. */
export function parseRunRef(text: string): RunRef | { readonly backend?: undefined; readonly id: string } {
  const local = /^local:(.+)#([^#]+)$/.exec(text);
  if (local) return { backend: 'local', store: local[1] as string, id: local[2] as string };
  const argo = /^argo:([^/]+)\/([^#]+)#([^#]+)$/.exec(text);
  if (argo) return { backend: 'argo', cluster: argo[1] as string, namespace: argo[2] as string, id: argo[3] as string };
  return { id: text };
}
