import Database from 'better-sqlite3';
import { chmodSync, existsSync, openSync, readSync, closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { RunnerError } from '../errors.ts';
import { explainMisses } from '../engine/cache.ts';
import { crashArmed, crashPoint } from '@sluice/executor/crash';
import { makeDir } from '@sluice/executor/paths';
import { groupAlive, signalGroup } from './procs.ts';

/** Version of the state database layout. Readers refuse newer versions and never overwrite them. */
export const SCHEMA_VERSION = 2;
/** The longest state.db path SQLite opens (measured with better-sqlite3's SQLite: 504 opens, 505 does not). */
const MAX_DB_PATH_BYTES = 504;

// 2: `locks` (mutexes and semaphores shared by the runs of a store). A version-1 store gets the table
// when opened for writing; an older runner then refuses the store rather than ignore its locks.
const LOCKS = `
CREATE TABLE locks (
  kind TEXT NOT NULL, name TEXT NOT NULL, run_id TEXT NOT NULL, task_key TEXT NOT NULL,
  holder TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL,
  acquired_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL,
  PRIMARY KEY (kind, name, run_id, task_key)
) WITHOUT ROWID;
CREATE INDEX locks_by_holder ON locks (holder);
`;

// Consumption edges (lineage): which artifact each task input received, and which task output
// produced it (null for a pipeline input). Additive: created when a store is opened for writing,
// without a schema version bump; a store without the table reads as "no edges recorded".
const CONSUMPTIONS = `
CREATE TABLE IF NOT EXISTS consumptions (
  run_id TEXT NOT NULL, task_key TEXT NOT NULL, input TEXT NOT NULL, idx INTEGER NOT NULL,
  hash TEXT NOT NULL, from_run TEXT, from_task TEXT, from_output TEXT,
  PRIMARY KEY (run_id, task_key, input, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS consumptions_by_producer ON consumptions (from_run, from_task, from_output);
`;

// Warnings of a run (a GPU step run on CPU by its declared fallback, a container run on the host,
// a lock taken over, ...), as the run emitted them. Additive, as `consumptions` is.
const WARNINGS = `
CREATE TABLE IF NOT EXISTS warnings (
  run_id TEXT NOT NULL, seq INTEGER NOT NULL, task_key TEXT, at INTEGER NOT NULL, message TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
`;

const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
  id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, status TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, finished_at INTEGER,
  ir_hash TEXT NOT NULL, ir TEXT NOT NULL, params TEXT NOT NULL,
  entry TEXT, export_name TEXT, mode TEXT NOT NULL,
  git_commit TEXT, git_dirty INTEGER, outputs TEXT, error TEXT
);
CREATE TABLE tasks (
  run_id TEXT NOT NULL, key TEXT NOT NULL, task_id TEXT NOT NULL, component TEXT NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER, finished_at INTEGER,
  cache_key TEXT, cache_parts TEXT, cached_from TEXT,
  inputs TEXT, outputs TEXT, error TEXT, pid INTEGER, pid_start TEXT,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE attempts (
  run_id TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL,
  started_at INTEGER NOT NULL, finished_at INTEGER,
  outcome TEXT NOT NULL, exit_code INTEGER, signal TEXT, message TEXT, gpus TEXT,
  PRIMARY KEY (run_id, key, n)
) WITHOUT ROWID;
CREATE TABLE artifacts (
  run_id TEXT NOT NULL, task_key TEXT NOT NULL, output TEXT NOT NULL,
  hash TEXT NOT NULL, type TEXT NOT NULL, size INTEGER NOT NULL, metadata TEXT NOT NULL,
  PRIMARY KEY (run_id, task_key, output)
) WITHOUT ROWID;
CREATE INDEX artifacts_by_hash ON artifacts (hash);
CREATE TABLE cache (
  key TEXT PRIMARY KEY, run_id TEXT NOT NULL, task_key TEXT NOT NULL,
  outputs TEXT NOT NULL, created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE leases (
  run_id TEXT PRIMARY KEY, holder TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL,
  acquired_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL
);
${LOCKS}${CONSUMPTIONS}${WARNINGS}`;

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';
/** `waiting` (for a mutex or semaphore) is only reported live, never stored. */
export type TaskState = 'waiting' | 'running' | 'retrying' | 'succeeded' | 'cached' | 'failed' | 'skipped' | 'omitted';
export type AttemptOutcome = 'running' | 'succeeded' | 'failed' | 'error' | 'preempted' | 'timeout' | 'invalid' | 'nonretryable' | 'interrupted';

export interface RunRow {
  id: string; pipeline: string; status: RunStatus; created_at: number; updated_at: number; finished_at: number | null;
  ir_hash: string; ir: string; params: string; entry: string | null; export_name: string | null; mode: string;
  git_commit: string | null; git_dirty: number | null; outputs: string | null; error: string | null;
}
export interface TaskRow {
  run_id: string; key: string; task_id: string; component: string; state: TaskState; attempts: number;
  started_at: number | null; finished_at: number | null; cache_key: string | null; cache_parts: string | null;
  cached_from: string | null; cache_miss: string | null; inputs: string | null; outputs: string | null; error: string | null;
}
export interface AttemptRow {
  run_id: string; key: string; n: number; started_at: number; finished_at: number | null; outcome: AttemptOutcome;
  exit_code: number | null; signal: string | null; message: string | null; gpus: string | null;
}
export interface ArtifactRow { run_id: string; task_key: string; output: string; hash: string; type: string; size: number; metadata: string }
/** Task input `input` (item `idx` of a list) of `run_id`/`task_key` received artifact `hash`, produced by `from_run`/`from_task`.`from_output` (null: a pipeline input). */
export interface ConsumptionRow { run_id: string; task_key: string; input: string; idx: number; hash: string; from_run: string | null; from_task: string | null; from_output: string | null }
/** One consumption edge as the engine records it. */
export interface Consumption { readonly input: string; readonly idx: number; readonly hash: string; readonly from: { readonly run: string; readonly task: string; readonly output: string } | null }
/** A warning a run recorded; `task_key` null for one about the run as a whole. */
export interface WarningRow { task_key: string | null; at: number; message: string }
export interface LeaseRow { run_id: string; holder: string; pid: number; host: string; acquired_at: number; heartbeat_at: number }
/** A hold on a mutex or semaphore; `task_key` is empty for a hold by the whole run. */
export interface LockRow { kind: 'mutex' | 'semaphore' | 'gpu'; name: string; run_id: string; task_key: string; holder: string; pid: number; host: string; acquired_at: number; heartbeat_at: number }
/** What {@link StateStore.tryLocks} found: `ok` when every lock is now held; otherwise who holds what is wanted. */
/** The whole store's hold by \`sluice gc\` while it removes objects (a \`locks\` row of kind \`sweep\`, run and task empty). */
export type SweepRow = Omit<LockRow, 'kind'> & { kind: 'sweep' };
/** What {@link StateStore.beginSweep} found in its way, when it took nothing: runs driven now, or another sweep. */
export type SweepAttempt = { readonly ok: true } | { readonly ok: false; readonly runs: readonly LeaseRow[]; readonly sweep?: SweepRow };

export interface LockAttempt { readonly ok: boolean; readonly blockers: readonly LockRow[]; readonly takenOver: readonly LockRow[] }

export interface OpenOptions {
  /** `normal` (default): commits survive a killed process (WAL); `full`: also a power cut (fsync per commit). */
  durability?: 'normal' | 'full';
  /** Open without creating or migrating anything. */
  readonly?: boolean;
  /** How long to wait for a lock held by another process. @default 5000 */
  busyTimeoutMs?: number;
}

const SQLITE_MAGIC = 'SQLite format 3\0';

/**
 * The durable state of local runs: one SQLite database in WAL mode. A method called directly
 * commits before it returns (its own statement or transaction). The engine instead queues its
 * writes with {@link enqueue} and group-commits them ({@link flush}): nothing queued is durable
 * until the flush resolves, and the engine flushes before every attempt starts, so a step never
 * runs before what it depends on is committed.
 */
export class StateStore {
  readonly db: Database.Database;
  readonly file: string;
  private readonly st: ReturnType<StateStore['prepare']>;
  private queue: (() => void)[] = [];
  /** What the queued writes are (`start:<key>`, `done:<key>`, `run`), kept only for fault injection. */
  private labels: string[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  /** The first commit that failed (disk full, I/O error); set once. */
  failure: unknown;
  /** Called when a commit fails. */
  onFailure: ((e: unknown) => void) | undefined;

  private readonly commitQueue: (q: readonly (() => void)[]) => void;
  /** False for a version-1 store opened read-only (it has no `locks` table yet). */
  private readonly hasLocks: boolean;
  /** False for a store last opened for writing by a runner that did not record consumption edges, opened read-only. */
  private readonly hasConsumptions: boolean;
  /** False for a store last opened for writing by a runner that did not record warnings, opened read-only. */
  private readonly hasWarnings: boolean;

  private constructor(file: string, db: Database.Database) {
    this.file = file;
    this.db = db;
    this.hasLocks = !!db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='locks'`).get();
    this.hasConsumptions = !!db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='consumptions'`).get();
    this.hasWarnings = !!db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='warnings'`).get();
    this.st = this.prepare();
    this.commitQueue = db.transaction((q: readonly (() => void)[]) => {
      for (const f of q) f();
    });
  }

  static open(file: string, opts: OpenOptions = {}): StateStore {
    // Processes opening a new store together can meet in SQLite's deadlock avoidance (two readers
    // upgrading to writers, or switching to WAL while another reads): one gets SQLITE_BUSY at once,
    // without the busy handler. Setting up is idempotent, so it is tried again within the timeout.
    const deadline = Date.now() + (opts.busyTimeoutMs ?? 5000);
    for (;;) {
      try {
        return StateStore.openOnce(file, opts);
      } catch (e) {
        if (!(e instanceof RunnerError && e.code === 'store.locked') || Date.now() >= deadline) throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 + Math.floor(Math.random() * 30));
      }
    }
  }

  private static openOnce(file: string, opts: OpenOptions): StateStore {
    // SQLite's unix VFS opens paths of at most 504 bytes here (512 with room for -wal/-shm): longer
    // gives "unable to open database file", said here before anything is made
    const bytes = Buffer.byteLength(resolve(file));
    if (bytes > MAX_DB_PATH_BYTES) throw new RunnerError('store.path', `the store's path is too long for SQLite: ${resolve(file)} is ${bytes} bytes, at most ${MAX_DB_PATH_BYTES} open; give --store or SLUICE_STORE a shorter folder (e.g. --store /tmp/my-store)`);
    const existed = existsSync(file);
    if (existed) checkHeader(file);
    else if (opts.readonly) throw new RunnerError('store.missing', `no Sluice state at ${file}: nothing has run here yet`);
    else {
      // params and logs are the user's: the store is readable by its owner only (whatever the umask)
      const root = dirname(file);
      const made = !existsSync(root);
      try {
        makeDir(root, 0o700);
      } catch (e) {
        throw new RunnerError('store.write', `cannot make the store folder ${root}: ${(e as Error).message}`);
      }
      if (made) chmodSync(root, 0o700);
    }
    let db: Database.Database;
    try {
      db = new Database(file, { readonly: !!opts.readonly, fileMustExist: existed });
      db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
      if (opts.readonly) db.prepare('SELECT count(*) FROM sqlite_master').get(); // a hot journal shows here
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      // A read-only open cannot recover a hot journal or WAL left by a killed runner: open for
      // writing (SQLite recovers it; nothing else is written), or say what is wrong.
      if (opts.readonly && (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN'))) {
        try {
          db = new Database(file, { fileMustExist: true });
          db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
          db.prepare('SELECT count(*) FROM sqlite_master').get();
        } catch (e2) {
          throw new RunnerError('store.readonly', `state store ${file} has an unfinished journal (a runner was killed while writing) and cannot be recovered from here (${(e2 as Error).message}); open it once with write access, e.g. \`sluice runs\` as its owner`);
        }
      } else throw wrapSqliteError(e, file);
    }
    if (!existed && !opts.readonly) {
      try { chmodSync(file, 0o600); } catch { /* not ours to change */ }
    }
    try {
      if (!opts.readonly) {
        // A new store gets 2 KiB pages: a step's commit rewrites about four pages (its task row, the
        // next task's, a cache entry, sometimes a parent), so smaller pages mean fewer WAL bytes to
        // write and checkpoint. Measured: 1 KiB costs more CPU (splits, overflow), 4 KiB more I/O.
        if (!existed) db.pragma('page_size = 2048');
        db.pragma('journal_mode = WAL');
        db.pragma(`synchronous = ${opts.durability === 'full' ? 'FULL' : 'NORMAL'}`);
        db.pragma('cache_size = -65536');
        // Checkpoints fsync: run them every 10,000 pages of WAL (20 MB with 2 KiB pages) rather than every 1,000.
        db.pragma('wal_autocheckpoint = 10000');
      }
      const hasMeta = () => db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='meta'`).get();
      const foreign = () => {
        const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_master`).get() as { n: number };
        if (tables.n > 0) throw new RunnerError('store.foreign', `${file} is an SQLite database but not a Sluice state store; refusing to touch it`);
      };
      if (!hasMeta()) {
        if (opts.readonly) {
          foreign();
          throw new RunnerError('store.missing', `no Sluice state at ${file}`);
        }
        // checked again under the write lock: runs started together may race to create the store
        db.transaction(() => {
          if (hasMeta()) return;
          foreign();
          db.exec(SCHEMA);
          db.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', ?), ('created_at', ?)`).run(String(SCHEMA_VERSION), new Date().toISOString());
        }).immediate();
      }
      {
        const row = db.prepare(`SELECT value FROM meta WHERE key='schema_version'`).get() as { value: string } | undefined;
        const v = Number(row?.value);
        if (!Number.isInteger(v)) throw new RunnerError('store.corrupt', `state store ${file} has no schema version; it is damaged. Move it away to start afresh (it is never overwritten)`);
        if (v > SCHEMA_VERSION)
          throw new RunnerError('store.newer', `state store ${file} was written by a newer Sluice (schema ${v}; this version reads up to ${SCHEMA_VERSION}). Upgrade @sluice/runner; the store is left untouched`);
        if (v < 2 && !opts.readonly) {
          db.transaction(() => {
            const cur = Number((db.prepare(`SELECT value FROM meta WHERE key='schema_version'`).get() as { value: string }).value);
            if (cur >= 2) return;
            db.exec(LOCKS);
            db.prepare(`UPDATE meta SET value = '2' WHERE key = 'schema_version'`).run();
          }).immediate();
        }
      }
      if (!opts.readonly && !db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='consumptions'`).get()) db.exec(CONSUMPTIONS);
      if (!opts.readonly && !db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='warnings'`).get()) db.exec(WARNINGS);
      if (!opts.readonly) {
        // additive: the process group of an attempt (pid and its start time), to stop orphans
        const cols = db.prepare(`SELECT name FROM pragma_table_info('tasks')`).all() as { name: string }[];
        if (!cols.some((c) => c.name === 'pid')) {
          db.transaction(() => {
            const again = db.prepare(`SELECT name FROM pragma_table_info('tasks')`).all() as { name: string }[];
            if (again.some((c) => c.name === 'pid')) return;
            db.exec('ALTER TABLE tasks ADD COLUMN pid INTEGER; ALTER TABLE tasks ADD COLUMN pid_start TEXT;');
          }).immediate();
        }
        // Find out now, with a clear message, whether another process holds the write lock.
        db.exec('BEGIN IMMEDIATE');
        db.exec('ROLLBACK');
      }
      return new StateStore(file, db);
    } catch (e) {
      db.close();
      throw wrapSqliteError(e, file);
    }
  }

  close(): void {
    if (this.db.open) {
      this.flushNow();
      this.db.close();
    }
  }

  /**
   * Group commit: queues a write for the next transaction. Writes queued while the engine is busy
   * (one step's success, the next step's start) share one commit. Nothing is durable until
   * {@link flush} resolves; the engine flushes before every attempt runs, so a step never starts
   * before what it depends on is committed. `label` names the write for the crash suite.
   */
  enqueue(write: () => void, label?: string): void {
    this.queue.push(write);
    if (crashArmed && label !== undefined) this.labels.push(label);
    this.schedule();
  }

  /** Resolves once everything queued so far is committed. */
  flush(): Promise<void> {
    if (!this.queue.length && !this.scheduled) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flushNow(true));
  }

  /** Commits the queue now, in one transaction. */
  flushNow(fromTimer = false): void {
    this.scheduled = false;
    const q = this.queue;
    const w = this.waiters;
    const labels = this.labels;
    this.queue = [];
    this.waiters = [];
    if (labels.length) this.labels = [];
    try {
      if (q.length) {
        crashPoint('commit.before', labels);
        this.commitQueue(q);
        crashPoint('commit.after', labels);
      }
    } catch (e) {
      // The writes are lost (disk full, I/O error): nothing later can be trusted to commit.
      this.failure ??= e;
      for (const x of w) x.reject(e);
      this.onFailure?.(e);
      if (!w.length && !fromTimer) throw e;
      return;
    }
    for (const x of w) x.resolve();
  }

  private prepare() {
    const db = this.db;
    return {
      insertRun: db.prepare(`INSERT INTO runs (id, pipeline, status, created_at, updated_at, ir_hash, ir, params, entry, export_name, mode, git_commit, git_dirty)
        VALUES (@id, @pipeline, 'running', @now, @now, @ir_hash, @ir, @params, @entry, @export_name, @mode, @git_commit, @git_dirty)`),
      getRun: db.prepare(`SELECT * FROM runs WHERE id = ?`),
      setRunStatus: db.prepare(`UPDATE runs SET status = @status, updated_at = @now, finished_at = @finished_at, outputs = @outputs, error = @error WHERE id = @id`),
      getTask: db.prepare(`SELECT * FROM tasks WHERE run_id = ? AND key = ?`),
      tasksOfRun: db.prepare(`SELECT * FROM tasks WHERE run_id = ? ORDER BY started_at, key`),
      taskSummaries: db.prepare(`SELECT key, state, attempts, error, cached_from FROM tasks WHERE run_id = ? ORDER BY started_at, key`),
      startTask: db.prepare(`INSERT INTO tasks (run_id, key, task_id, component, state, attempts, started_at, cache_key, cache_parts, inputs)
        VALUES (@run_id, @key, @task_id, @component, 'running', @attempt, @now, @cache_key, @cache_parts, @inputs)
        ON CONFLICT (run_id, key) DO UPDATE SET state = 'running', attempts = @attempt, started_at = @now, finished_at = NULL, cache_key = @cache_key,
          cache_parts = @cache_parts, inputs = @inputs, error = NULL`),
      setTaskState: db.prepare(`UPDATE tasks SET state = @state, attempts = @attempts, finished_at = @finished_at, outputs = @outputs, error = @error, cached_from = @cached_from WHERE run_id = @run_id AND key = @key`),
      insertTaskFinal: db.prepare(`INSERT INTO tasks (run_id, key, task_id, component, state, attempts, started_at, finished_at, cache_key, cache_parts, cached_from, inputs, outputs, error)
        VALUES (@run_id, @key, @task_id, @component, @state, 0, @now, @now, @cache_key, @cache_parts, @cached_from, @inputs, @outputs, @error)
        ON CONFLICT (run_id, key) DO UPDATE SET state = @state, finished_at = @now, cache_key = @cache_key, cache_parts = @cache_parts,
          cached_from = @cached_from, inputs = @inputs, outputs = @outputs, error = @error`),
      bumpAttempts: db.prepare(`UPDATE tasks SET attempts = ?, state = 'running' WHERE run_id = ? AND key = ?`),
      finishAttempt: db.prepare(`INSERT OR REPLACE INTO attempts (run_id, key, n, started_at, finished_at, outcome, exit_code, signal, message, gpus)
        VALUES (@run_id, @key, @n, @started_at, @now, @outcome, @exit_code, @signal, @message, @gpus)`),
      attemptsOf: db.prepare(`SELECT * FROM attempts WHERE run_id = ? AND key = ? ORDER BY n`),
      attemptsOfRun: db.prepare(`SELECT * FROM attempts WHERE run_id = ? ORDER BY key, n`),
      insertArtifact: db.prepare(`INSERT OR REPLACE INTO artifacts (run_id, task_key, output, hash, type, size, metadata) VALUES (@run_id, @task_key, @output, @hash, @type, @size, @metadata)`),
      putCache: db.prepare(`INSERT OR REPLACE INTO cache (key, run_id, task_key, outputs, created_at) VALUES (?, ?, ?, ?, ?)`),
      getCache: db.prepare(`SELECT * FROM cache WHERE key = ?`),
      getLease: db.prepare(`SELECT * FROM leases WHERE run_id = ?`),
      putLease: db.prepare(`INSERT OR REPLACE INTO leases (run_id, holder, pid, host, acquired_at, heartbeat_at) VALUES (@run_id, @holder, @pid, @host, @now, @now)`),
      beatLease: db.prepare(`UPDATE leases SET heartbeat_at = ? WHERE run_id = ? AND holder = ?`),
      dropLease: db.prepare(`DELETE FROM leases WHERE run_id = ? AND holder = ?`),
    };
  }

  createRun(r: { id: string; pipeline: string; irHash: string; ir: string; params: string; entry: string | null; exportName: string | null; mode: string; gitCommit: string | null; gitDirty: boolean | null; now: number }): void {
    this.st.insertRun.run({
      id: r.id, pipeline: r.pipeline, now: r.now, ir_hash: r.irHash, ir: r.ir, params: r.params, entry: r.entry,
      export_name: r.exportName, mode: r.mode, git_commit: r.gitCommit, git_dirty: r.gitDirty === null ? null : r.gitDirty ? 1 : 0,
    });
  }
  getRun(id: string): RunRow | undefined {
    return this.st.getRun.get(id) as RunRow | undefined;
  }
  /** Finds a run by full id or unique prefix. */
  findRun(idOrPrefix: string): RunRow {
    // (an empty prefix would name every run: \`sluice stop "$RUN"\` with RUN unset must not stop the newest)
    if (idOrPrefix === '') throw new RunnerError('run.empty', 'the run id is empty (an unset variable?); give a run id, a unique prefix of one, or latest');
    const exact = this.getRun(idOrPrefix);
    if (exact) return exact;
    const rows = this.db.prepare(`SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY created_at DESC LIMIT 2`).all(idOrPrefix.replace(/[%_\\]/g, '\\$&') + '%') as RunRow[];
    if (rows.length === 1) return rows[0] as RunRow;
    if (rows.length === 0) throw new RunnerError('run.unknown', `no run "${idOrPrefix}" in ${this.file} (see \`sluice runs\`)`);
    throw new RunnerError('run.ambiguous', `"${idOrPrefix}" matches several runs; give more of the id`);
  }
  listRuns(limit = 20): RunRow[] {
    return this.db.prepare(`SELECT * FROM runs ORDER BY created_at DESC LIMIT ?`).all(limit) as RunRow[];
  }
  setRunStatus(id: string, status: RunStatus, now: number, outputs: string | null = null, error: string | null = null): void {
    this.st.setRunStatus.run({ id, status, now, finished_at: status === 'running' ? null : now, outputs, error });
  }
  getTask(runId: string, key: string): TaskRow | undefined {
    return this.st.getTask.get(runId, key) as TaskRow | undefined;
  }
  tasksOfRun(runId: string): TaskRow[] {
    return this.st.tasksOfRun.all(runId) as TaskRow[];
  }
  /** The state of each task of a run, without its inputs and outputs. */
  taskSummaries(runId: string): Pick<TaskRow, 'key' | 'state' | 'attempts' | 'error' | 'cached_from'>[] {
    return this.st.taskSummaries.all(runId) as Pick<TaskRow, 'key' | 'state' | 'attempts' | 'error' | 'cached_from'>[];
  }
  /** Records a task as started with its first attempt (number `attempt`) running. */
  startTask(t: { runId: string; key: string; taskId: string; component: string; now: number; cacheKey: string | null; cacheParts: string | null; inputs: string; attempt: number }): void {
    this.st.startTask.run({
      run_id: t.runId, key: t.key, task_id: t.taskId, component: t.component, now: t.now, attempt: t.attempt,
      cache_key: t.cacheKey, cache_parts: t.cacheParts, inputs: t.inputs,
    });
  }
  /**
   * Records that attempt `n` (a retry) is running: the task row carries the running attempt's
   * number, so a task in state `running` after a crash says which attempt was cut short.
   */
  /**
   * A run marked running whose driver is gone (its lease is missing, or its pid is dead on this
   * host, or it has not beaten for `staleMs` from another): nothing will end it until it is resumed.
   */
  driverGone(runId: string, now = Date.now(), staleMs = 30_000): boolean {
    const run = this.getRun(runId);
    if (!run || run.status !== 'running') return false;
    const lease = this.getLease(runId);
    return !lease || !leaseAlive(lease, hostname(), now, staleMs);
  }
  /** Runs whose driver is alive now. */
  liveRuns(now = Date.now()): RunRow[] {
    return (this.db.prepare(`SELECT * FROM runs WHERE status = 'running'`).all() as RunRow[]).filter((r) => !this.driverGone(r.id, now));
  }
  /** Every artifact hash the store's records refer to (runs' params and outputs, tasks, cache entries, artifacts). */
  referencedHashes(): Set<string> {
    const out = new Set<string>();
    for (const r of this.db.prepare(`SELECT hash FROM artifacts`).all() as { hash: string }[]) out.add(r.hash);
    const texts = [
      ...(this.db.prepare(`SELECT params AS t FROM runs UNION ALL SELECT outputs FROM runs UNION ALL SELECT outputs FROM tasks UNION ALL SELECT inputs FROM tasks UNION ALL SELECT outputs FROM cache`).all() as { t: string | null }[]),
    ];
    for (const { t } of texts) for (const m of (t ?? '').matchAll(/"hash":"([0-9a-f]{64})"/g)) out.add(m[1] as string);
    return out;
  }
  /** Records the process group running task `key`'s current attempt (its leader's pid and start time). */
  setTaskProcess(runId: string, key: string, pid: number | null, start: string | null): void {
    this.db.prepare(`UPDATE tasks SET pid = ?, pid_start = ? WHERE run_id = ? AND key = ?`).run(pid, start, runId, key);
  }
  /** Process groups recorded for tasks of `runId` (all, or `taskKey`) still marked running. */
  taskProcesses(runId: string, taskKey?: string): { key: string; pid: number; pid_start: string | null }[] {
    const cols = this.db.prepare(`SELECT name FROM pragma_table_info('tasks')`).all() as { name: string }[];
    if (!cols.some((c) => c.name === 'pid')) return [];
    return this.db.prepare(`SELECT key, pid, pid_start FROM tasks WHERE run_id = ? AND state IN ('running', 'retrying') AND pid IS NOT NULL${taskKey !== undefined ? ' AND key = ?' : ''}`)
      .all(...(taskKey !== undefined ? [runId, taskKey] : [runId])) as { key: string; pid: number; pid_start: string | null }[];
  }
  startAttempt(runId: string, key: string, n: number): void {
    this.st.bumpAttempts.run(n, runId, key);
  }
  /** Records an attempt that did not succeed (successful attempts live in the task row). */
  finishAttempt(a: { runId: string; key: string; n: number; startedAt: number; now: number; outcome: AttemptOutcome; exitCode: number | null; signal: string | null; message: string | null; gpus?: readonly string[] }): void {
    this.st.finishAttempt.run({ run_id: a.runId, key: a.key, n: a.n, started_at: a.startedAt, now: a.now, outcome: a.outcome, exit_code: a.exitCode, signal: a.signal, message: a.message, gpus: a.gpus?.length ? a.gpus.join(',') : null });
  }
  attemptsOf(runId: string, key: string): AttemptRow[] {
    return this.st.attemptsOf.all(runId, key) as AttemptRow[];
  }
  attemptsOfRun(runId: string): AttemptRow[] {
    return this.st.attemptsOfRun.all(runId) as AttemptRow[];
  }
  /**
   * Records a succeeded task: its outputs, the artifacts it produced and its cache entry. Call it
   * through {@link enqueue}, inside the group commit's transaction.
   */
  commitSuccess(c: {
    runId: string; key: string; attempt: number; now: number; outputs: string; cacheKey: string | null;
    artifacts: readonly { output: string; hash: string; type: string; size: number; metadata: string }[];
  }): void {
    this.st.setTaskState.run({ run_id: c.runId, key: c.key, state: 'succeeded', attempts: c.attempt, finished_at: c.now, outputs: c.outputs, error: null, cached_from: null });
    for (const a of c.artifacts) this.st.insertArtifact.run({ run_id: c.runId, task_key: c.key, ...a });
    if (c.cacheKey) this.st.putCache.run(c.cacheKey, c.runId, c.key, c.outputs, c.now);
  }
  setTaskFailed(runId: string, key: string, attempts: number, now: number, error: string): void {
    this.st.setTaskState.run({ run_id: runId, key, state: 'failed', attempts, finished_at: now, outputs: null, error, cached_from: null });
  }
  /** Records a task that finished without running: `cached`, `skipped`, `omitted` or `failed` before any attempt. */
  recordTask(t: { runId: string; key: string; taskId: string; component: string; state: TaskState; now: number; cacheKey?: string | null; cacheParts?: string | null; cachedFrom?: string | null; inputs?: string | null; outputs?: string | null; error?: string | null; artifacts?: readonly { output: string; hash: string; type: string; size: number; metadata: string }[] }): void {
    this.st.insertTaskFinal.run({
      run_id: t.runId, key: t.key, task_id: t.taskId, component: t.component, state: t.state, now: t.now,
      cache_key: t.cacheKey ?? null, cache_parts: t.cacheParts ?? null, cached_from: t.cachedFrom ?? null,
      inputs: t.inputs ?? null, outputs: t.outputs ?? null, error: t.error ?? null,
    });
    for (const a of t.artifacts ?? []) this.st.insertArtifact.run({ run_id: t.runId, task_key: t.key, ...a });
  }
  /** Records which artifacts task `key` received and who produced them. Use inside a group commit. */
  recordConsumptions(runId: string, key: string, edges: readonly Consumption[]): void {
    if (!this.hasConsumptions || !edges.length) return;
    const put = this.db.prepare(`INSERT OR REPLACE INTO consumptions (run_id, task_key, input, idx, hash, from_run, from_task, from_output) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const e of edges) put.run(runId, key, e.input, e.idx, e.hash, e.from?.run ?? null, e.from?.task ?? null, e.from?.output ?? null);
  }
  /** The artifacts task `key` of `runId` received, by input and item. */
  consumptionsOf(runId: string, key: string): ConsumptionRow[] {
    return this.hasConsumptions ? (this.db.prepare(`SELECT * FROM consumptions WHERE run_id = ? AND task_key = ? ORDER BY input, idx`).all(runId, key) as ConsumptionRow[]) : [];
  }
  /** Every consumption edge of a run. */
  consumptionsOfRun(runId: string): ConsumptionRow[] {
    return this.hasConsumptions ? (this.db.prepare(`SELECT * FROM consumptions WHERE run_id = ? ORDER BY task_key, input, idx`).all(runId) as ConsumptionRow[]) : [];
  }
  /** The tasks (of any run) that received output `output` of task `task` of run `run`. */
  consumersOf(run: string, task: string, output: string): ConsumptionRow[] {
    return this.hasConsumptions ? (this.db.prepare(`SELECT * FROM consumptions WHERE from_run = ? AND from_task = ? AND from_output = ? ORDER BY run_id, task_key, input, idx`).all(run, task, output) as ConsumptionRow[]) : [];
  }
  /** Records a warning of a run (`key`: the task it is about, if any). Use inside a group commit. */
  recordWarning(runId: string, w: { readonly key?: string | undefined; readonly time: number; readonly message: string }): void {
    if (!this.hasWarnings) return;
    this.db.prepare(`INSERT INTO warnings (run_id, seq, task_key, at, message) SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ? FROM warnings WHERE run_id = ?`).run(runId, w.key ?? null, w.time, w.message, runId);
  }
  /** The warnings of a run, in the order they were recorded. */
  warningsOf(runId: string): WarningRow[] {
    return this.hasWarnings ? (this.db.prepare(`SELECT task_key, at, message FROM warnings WHERE run_id = ? ORDER BY seq`).all(runId) as WarningRow[]) : [];
  }
  /** Whether the store records consumption edges (a store written only by an older runner does not). */
  get recordsConsumptions(): boolean {
    return this.hasConsumptions;
  }
  /** The artifact rows of one task of a run. */
  artifactsOfTask(runId: string, key: string): ArtifactRow[] {
    return this.db.prepare(`SELECT * FROM artifacts WHERE run_id = ? AND task_key = ? ORDER BY output`).all(runId, key) as ArtifactRow[];
  }
  cacheKeys(): Set<string> {
    return new Set(this.db.prepare(`SELECT key FROM cache`).pluck().all() as string[]);
  }
  getCache(key: string): { key: string; run_id: string; task_key: string; outputs: string; created_at: number } | undefined {
    return this.st.getCache.get(key) as never;
  }
  /** Tasks of earlier runs of the same pipeline, newest run first (for cache-miss explanations). */
  *earlierRunsTasks(run: RunRow): Generator<TaskRow[]> {
    const ids = this.db.prepare(`SELECT id FROM runs WHERE pipeline = ? AND rowid < (SELECT rowid FROM runs WHERE id = ?) ORDER BY rowid DESC`).pluck().all(run.pipeline, run.id) as string[];
    for (const id of ids) yield this.tasksOfRun(id);
  }
  /** Why each task of the run missed the cache (computed by `explainMisses` in engine/cache.ts). */
  cacheMisses(run: RunRow): Map<string, string> {
    return explainMisses(this.tasksOfRun(run.id), () => this.earlierRunsTasks(run));
  }
  /** Artifacts whose content hash starts with `hashPrefix` (1 to 64 hex digits; anything else names none). */
  artifactsByHash(hashPrefix: string): ArtifactRow[] {
    const prefix = hashPrefix.toLowerCase();
    // (never stripped to what is left: "my-model" is not the prefix "ede", nor "" every artifact)
    if (!/^[0-9a-f]{1,64}$/.test(prefix)) return [];
    return this.db.prepare(`SELECT * FROM artifacts WHERE hash LIKE ? ORDER BY run_id, task_key`).all(`${prefix}%`) as ArtifactRow[];
  }
  artifactsOfRun(runId: string): ArtifactRow[] {
    return this.db.prepare(`SELECT * FROM artifacts WHERE run_id = ? ORDER BY task_key, output`).all(runId) as ArtifactRow[];
  }

  /**
   * Takes the lease on a run, so that one process at a time drives it. A lease whose holder is gone
   * (dead pid on this host, or no heartbeat for `staleMs` from another host) is taken over.
   */
  acquireLease(runId: string, holder: string, now: number, staleMs = 30_000): void {
    const host = hostname();
    this.db.transaction(() => {
      const cur = this.st.getLease.get(runId) as LeaseRow | undefined;
      if (cur && cur.holder !== holder && leaseAlive(cur, host, now, staleMs)) {
        throw new RunnerError(
          'run.leased',
          `run ${runId} is being driven by pid ${cur.pid} on ${cur.host} (since ${new Date(cur.acquired_at).toISOString()}, last heartbeat ${new Date(cur.heartbeat_at).toISOString()}); wait for it to finish or stop that process`,
        );
      }
      // (checked in the transaction that takes the lease, as beginSweep checks the leases in the one that takes the sweep)
      const sweep = this.liveSweep(host, now, staleMs, holder);
      if (sweep) throw new RunnerError('store.sweeping', `sluice gc (pid ${sweep.pid} on ${sweep.host}, since ${new Date(sweep.acquired_at).toISOString()}) is removing unreferenced objects from this store`);
      this.st.putLease.run({ run_id: runId, holder, pid: process.pid, host, now });
    }).immediate();
  }

  /** The sweep of this store held by another holder whose process is alive, if any. */
  private liveSweep(host: string, now: number, staleMs: number, holder?: string): SweepRow | undefined {
    if (!this.hasLocks) return undefined;
    const r = this.db.prepare(`SELECT * FROM locks WHERE kind = 'sweep' AND name = 'store'`).get() as SweepRow | undefined;
    return r && r.holder !== holder && leaseAlive(r, host, now, staleMs) ? r : undefined;
  }
  /**
   * Takes the whole store for removing objects (`sluice gc`), in one immediate transaction with
   * the check that no run is driven now (no live lease) and no other sweep is: every run takes its
   * lease in a transaction that checks for a sweep ({@link acquireLease}), so while the sweep is
   * held no run ingests an object, reuses one by its hash or records a reference. Takes nothing
   * and says what is in the way otherwise. A sweep whose process is gone counts for nothing.
   */
  beginSweep(holder: string, now: number, staleMs = 30_000): SweepAttempt {
    const host = hostname();
    return this.db.transaction((): SweepAttempt => {
      const sweep = this.liveSweep(host, now, staleMs, holder);
      const runs = (this.db.prepare(`SELECT * FROM leases ORDER BY run_id`).all() as LeaseRow[]).filter((l) => l.holder !== holder && leaseAlive(l, host, now, staleMs));
      if (sweep || runs.length) return { ok: false, runs, ...(sweep ? { sweep } : {}) };
      this.db.prepare(`INSERT OR REPLACE INTO locks (kind, name, run_id, task_key, holder, pid, host, acquired_at, heartbeat_at) VALUES ('sweep', 'store', '', '', ?, ?, ?, ?, ?)`).run(holder, process.pid, host, now, now);
      return { ok: true };
    }).immediate();
  }
  /** Beats the sweep (seen from another host, it is alive while it beats). */
  beatSweep(holder: string, now: number): void {
    this.db.prepare(`UPDATE locks SET heartbeat_at = ? WHERE kind = 'sweep' AND holder = ?`).run(now, holder);
  }
  endSweep(holder: string): void {
    this.db.prepare(`DELETE FROM locks WHERE kind = 'sweep' AND holder = ?`).run(holder);
  }
  /** Beats the run's lease and every lock `holder` holds. */
  heartbeat(runId: string, holder: string, now: number): boolean {
    if (this.hasLocks) this.db.prepare(`UPDATE locks SET heartbeat_at = ? WHERE holder = ?`).run(now, holder);
    return this.st.beatLease.run(now, runId, holder).changes === 1;
  }
  releaseLease(runId: string, holder: string): void {
    this.st.dropLease.run(runId, holder);
  }
  getLease(runId: string): LeaseRow | undefined {
    return this.st.getLease.get(runId) as LeaseRow | undefined;
  }

  /**
   * Takes every lock in `want` for task `taskKey` of run `runId` (empty: the whole run), all or
   * none, in one immediate transaction: a mutex is free when nobody else holds it, a semaphore
   * when fewer than its size hold it. Holds whose process is gone (the lease's liveness check) are
   * deleted first and reported in `takenOver`. A lock the run itself holds covers its tasks.
   */
  tryLocks(o: { runId: string; taskKey: string; holder: string; now: number; want: readonly { kind: 'mutex' | 'semaphore' | 'gpu'; name: string; size: number }[] }, staleMs = 30_000): LockAttempt {
    const host = hostname();
    const get = this.db.prepare(`SELECT * FROM locks WHERE kind = ? AND name = ?`);
    const drop = this.db.prepare(`DELETE FROM locks WHERE kind = ? AND name = ? AND run_id = ? AND task_key = ?`);
    const put = this.db.prepare(`INSERT OR REPLACE INTO locks (kind, name, run_id, task_key, holder, pid, host, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    return this.db.transaction((): LockAttempt => {
      const blockers: LockRow[] = [];
      const takenOver: LockRow[] = [];
      const take: typeof o.want[number][] = [];
      for (const w of o.want) {
        let mine = false;
        const others: LockRow[] = [];
        for (const r of get.all(w.kind, w.name) as LockRow[]) {
          if (r.run_id === o.runId && (r.task_key === '' || r.task_key === o.taskKey)) mine = r.task_key === '' || mine;
          else if (r.holder !== o.holder && !leaseAlive(r, host, o.now, staleMs)) {
            // the holder's driver is gone, but its step may still be in the critical section:
            // the lock is free once nothing of that step's process group runs (it is killed now)
            const orphans = r.host === host ? this.taskProcesses(r.run_id, r.task_key === '' ? undefined : r.task_key).filter((p) => groupAlive(p.pid, p.pid_start)) : [];
            if (orphans.length) {
              for (const p of orphans) signalGroup(p.pid, p.pid_start, 'SIGKILL');
              others.push(r);
              continue;
            }
            drop.run(r.kind, r.name, r.run_id, r.task_key);
            takenOver.push(r);
          } else others.push(r);
        }
        if (mine) continue; // held by the run: its tasks are covered
        if (others.length >= w.size) blockers.push(...others);
        else take.push(w);
      }
      if (!blockers.length) for (const w of take) put.run(w.kind, w.name, o.runId, o.taskKey, o.holder, process.pid, host, o.now, o.now);
      return { ok: !blockers.length, blockers, takenOver };
    }).immediate();
  }
  /** GPU devices held in this store by other holders whose process is alive (a GPU is a `gpu` lock of size 1 named by its device). */
  gpusInUse(holder: string, now = Date.now(), staleMs = 30_000): Set<string> {
    if (!this.hasLocks) return new Set();
    const host = hostname();
    const rows = this.db.prepare(`SELECT * FROM locks WHERE kind = 'gpu' AND holder != ?`).all(holder) as LockRow[];
    return new Set(rows.filter((r) => leaseAlive(r, host, now, staleMs)).map((r) => r.name));
  }
  /** Releases what task `taskKey` of `runId` holds (empty key: the run's own holds). Use inside a group commit. */
  releaseLocks(runId: string, taskKey: string, holder: string): void {
    if (this.hasLocks) this.db.prepare(`DELETE FROM locks WHERE run_id = ? AND task_key = ? AND holder = ?`).run(runId, taskKey, holder);
  }
  /** Releases every lock `holder` holds (a driver that stops). */
  releaseHolderLocks(holder: string): void {
    if (this.hasLocks) this.db.prepare(`DELETE FROM locks WHERE holder = ?`).run(holder);
  }
  /** The holds of a run's tasks (and of the run itself), for `sluice show`. */
  locksOfRun(runId: string): LockRow[] {
    return this.hasLocks ? (this.db.prepare(`SELECT * FROM locks WHERE run_id = ? ORDER BY task_key, kind, name`).all(runId) as LockRow[]) : [];
  }
}

function leaseAlive(l: Pick<LeaseRow, 'pid' | 'host' | 'heartbeat_at'>, host: string, now: number, staleMs: number): boolean {
  if (l.host === host) {
    try {
      process.kill(l.pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  return now - l.heartbeat_at < staleMs;
}

function checkHeader(file: string): void {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf, 0, 16, 0);
    if (n === 0) return; // an empty file is what SQLite itself creates; it is initialised on open
    if (buf.toString('latin1', 0, n) !== SQLITE_MAGIC)
      throw new RunnerError('store.corrupt', `state store ${file} is not an SQLite database (damaged or overwritten); refusing to touch it. Move it away to start afresh`);
  } finally {
    closeSync(fd);
  }
}

function wrapSqliteError(e: unknown, file: string): unknown {
  if (e instanceof RunnerError) return e;
  const code = (e as { code?: string }).code ?? '';
  const msg = (e as Error).message;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
    return new RunnerError('store.locked', `state store ${file} is locked by another process (${msg}); try again when it is done`);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT'))
    return new RunnerError('store.corrupt', `state store ${file} is damaged (${msg}); refusing to touch it. Move it away to start afresh`);
  return e;
}
