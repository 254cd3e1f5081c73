/**
 * Reading runs from a script or notebook: `openStore()` over a store directory (`.sluice` by
 * default), read-only.
 *
 * This is a thin typed facade over the state store's rows (parsed JSON, dates, camelCase). It is
 * meant to sit on the run views of the shared query layer (`src/query/`) once that lands, so that
 * the CLI and scripts read runs through one code path; the shapes below are the contract.
 */
import type { JsonValue } from '@sluice/sdk';
import type { ArtifactRef, RuntimeValue } from './engine/types.ts';
import { storePaths } from './run.ts';
import { type AttemptOutcome, type AttemptRow, type RunRow, type RunStatus, StateStore, type TaskRow, type TaskState } from './store/state.ts';

/** One run, as {@link Runs.list} returns it. */
export interface RunInfo {
  readonly id: string;
  readonly pipeline: string;
  readonly status: RunStatus;
  readonly createdAt: Date;
  readonly finishedAt: Date | null;
  readonly params: { readonly [name: string]: JsonValue };
  /** The pipeline's outputs (null until the run finished). Artifacts carry their local `path`. */
  readonly outputs: { readonly [name: string]: RuntimeValue } | null;
  readonly error: string | null;
  /** The pipeline file the run started from (null when started from code). */
  readonly entry: string | null;
  readonly mode: string;
  readonly git: { readonly commit: string; readonly dirty: boolean } | null;
}

/** One attempt of a task. */
export interface AttemptInfo {
  readonly n: number;
  readonly outcome: AttemptOutcome;
  /** Null when not recorded (the store keeps a succeeded attempt's start only as the task's, for a first attempt). */
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly message: string | null;
}

/** One task of a run, with its attempts. */
export interface TaskInfo {
  /** Unique within the run (loop iterations carry their index, e.g. `train[2]`). */
  readonly key: string;
  readonly taskId: string;
  /** Empty for conditions and loops. */
  readonly component: string;
  readonly state: TaskState;
  readonly attempts: readonly AttemptInfo[];
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  /** The run whose result a cache hit reused. */
  readonly cachedFrom: string | null;
  readonly inputs: { readonly [name: string]: RuntimeValue } | null;
  readonly outputs: { readonly [name: string]: RuntimeValue } | null;
  readonly error: string | null;
}

/** An artifact a task of the run produced, and the tasks of the run that read it. */
export interface LineageEntry {
  readonly hash: string;
  readonly type: string;
  readonly size: number;
  readonly producedBy: { readonly task: string; readonly output: string };
  readonly consumedBy: readonly { readonly task: string; readonly input: string }[];
}

/** A run with its tasks, attempts, outputs and lineage. */
export interface RunDetail extends RunInfo {
  readonly tasks: readonly TaskInfo[];
  readonly lineage: readonly LineageEntry[];
}

/** Filters of {@link Runs.list}. */
export interface RunFilter {
  readonly pipeline?: string;
  readonly status?: RunStatus;
  /** @default 20 */
  readonly limit?: number;
}

/** The runs of a store. */
export interface Runs {
  /** Newest first. */
  list(filter?: RunFilter): RunInfo[];
  /** A run by id or unique id prefix; throws a `RunnerError` (`run.unknown`) when there is none. */
  get(id: string): RunDetail;
}

/** A store opened for reading. */
export interface Store {
  readonly dir: string;
  readonly runs: Runs;
  close(): void;
}

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

function runInfo(r: RunRow): RunInfo {
  return {
    id: r.id, pipeline: r.pipeline, status: r.status, createdAt: new Date(r.created_at), finishedAt: date(r.finished_at),
    params: JSON.parse(r.params) as RunInfo['params'], outputs: parse(r.outputs), error: r.error, entry: r.entry, mode: r.mode,
    git: r.git_commit ? { commit: r.git_commit, dirty: r.git_dirty === 1 } : null,
  };
}

function attemptInfo(a: AttemptRow): AttemptInfo {
  return { n: a.n, outcome: a.outcome, startedAt: new Date(a.started_at), finishedAt: date(a.finished_at), exitCode: a.exit_code, signal: a.signal, message: a.message };
}

function taskInfo(t: TaskRow, rows: readonly AttemptRow[]): TaskInfo {
  // The store records attempts that did not succeed; the succeeded one is the task's last attempt.
  const attempts = rows.map(attemptInfo);
  if (t.state === 'succeeded' && t.attempts > 0 && !rows.some((a) => a.n === t.attempts)) {
    attempts.push({ n: t.attempts, outcome: 'succeeded', startedAt: t.attempts === 1 ? date(t.started_at) : date(rows.at(-1)?.finished_at ?? null), finishedAt: date(t.finished_at), exitCode: null, signal: null, message: null });
  }
  return {
    key: t.key, taskId: t.task_id, component: t.component, state: t.state, attempts,
    startedAt: date(t.started_at), finishedAt: date(t.finished_at), cachedFrom: t.cached_from,
    inputs: parse(t.inputs), outputs: parse(t.outputs), error: t.error,
  };
}

function artifactsIn(v: RuntimeValue | undefined): ArtifactRef[] {
  const isRef = (x: unknown): x is ArtifactRef => typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'artifact';
  return Array.isArray(v) ? v.filter(isRef) : isRef(v) ? [v] : [];
}

/**
 * Opens a store for reading (default `.sluice` in the working directory).
 *
 * @example
 * const store = openStore();
 * for (const r of store.runs.list({ pipeline: 'tabular-training', status: 'succeeded' })) console.log(r.id, r.outputs?.accuracy);
 * const run = store.runs.get('tabular-training-2026');
 * console.log(run.tasks.map((t) => `${t.key} ${t.state} ${t.attempts.length}`));
 * store.close();
 */
export function openStore(dir = '.sluice'): Store {
  const paths = storePaths(dir);
  const s = StateStore.open(paths.db, { readonly: true });
  const runs: Runs = {
    list(filter = {}) {
      const limit = filter.limit ?? 20;
      const rows = s.listRuns(filter.pipeline || filter.status ? Number.MAX_SAFE_INTEGER : limit);
      return rows.filter((r) => (!filter.pipeline || r.pipeline === filter.pipeline) && (!filter.status || r.status === filter.status)).slice(0, limit).map(runInfo);
    },
    get(id) {
      const run = s.findRun(id);
      const attempts = s.attemptsOfRun(run.id);
      const tasks = s.tasksOfRun(run.id).map((t) => taskInfo(t, attempts.filter((a) => a.key === t.key)));
      const lineage = s.artifactsOfRun(run.id).map((a): LineageEntry => ({
        hash: a.hash, type: a.type, size: a.size, producedBy: { task: a.task_key, output: a.output },
        consumedBy: tasks.flatMap((t) => Object.entries(t.inputs ?? {}).filter(([, v]) => artifactsIn(v).some((x) => x.hash === a.hash)).map(([input]) => ({ task: t.key, input }))),
      }));
      return { ...runInfo(run), tasks, lineage };
    },
  };
  return { dir: paths.root, runs, close: () => s.close() };
}
