/**
 * The daemon's tables in the run store (`.sluice/state.db`): trigger state, fires (reserved with a
 * UNIQUE dedupe key, then launched, then finished), decisions, seen data objects, and the daemon's
 * lease. Same conventions as the runner's store (WAL, busy timeout, leases with a pid/host
 * liveness check); the runner's own tables are only read.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { JsonValue } from '@sluice/sdk';
import type { Decision, TriggerState } from '../engine.ts';
import { initialState, STATE_VERSION } from '../engine.ts';

/** Version of the trigger tables (row `schema_version` of `trigger_meta`). */
export const TRIGGER_SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS trigger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trigger_state (name TEXT PRIMARY KEY, ir_hash TEXT NOT NULL, state TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS trigger_fires (
  dedupe_key TEXT PRIMARY KEY, trigger TEXT NOT NULL, run_id TEXT NOT NULL UNIQUE, params TEXT NOT NULL, event TEXT NOT NULL,
  status TEXT NOT NULL, reserved_at INTEGER NOT NULL, launched_at INTEGER, finished_at INTEGER, run_status TEXT
);
CREATE INDEX IF NOT EXISTS trigger_fires_by_status ON trigger_fires (status);
CREATE TABLE IF NOT EXISTS trigger_decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT, trigger TEXT NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
  evidence TEXT NOT NULL, event TEXT, dedupe_key TEXT, run_id TEXT
);
CREATE INDEX IF NOT EXISTS trigger_decisions_by_trigger ON trigger_decisions (trigger, id);
CREATE TABLE IF NOT EXISTS trigger_seen (trigger TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL, PRIMARY KEY (trigger, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS trigger_cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trigger_reports (
  run_id TEXT NOT NULL, name TEXT NOT NULL, trigger TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL,
  media_type TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS trigger_daemon (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL);
`;

export interface FireRow {
  dedupe_key: string; trigger: string; run_id: string; params: string; event: string; status: 'reserved' | 'launched' | 'finished';
  reserved_at: number; launched_at: number | null; finished_at: number | null; run_status: string | null;
}
/** A file attached to the run a fire starts (the drift report): where it is and what its bytes are. */
export interface Attachment { readonly name: string; readonly path: string; readonly sha256: string; readonly bytes: number; readonly mediaType: string }
export interface ReportRow { run_id: string; name: string; trigger: string; path: string; sha256: string; bytes: number; media_type: string; created_at: number }
export interface DecisionRow { id: number; trigger: string; at: number; kind: string; reason: string; evidence: string; event: string | null; dedupe_key: string | null; run_id: string | null }
export interface RunRowLite { id: string; pipeline: string; status: string; finished_at: number | null; params: string; outputs: string | null; created_at: number }

export class TriggerError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'TriggerError';
  }
}

function alive(pid: number, host: string, heartbeat: number, now: number, staleMs: number): boolean {
  if (host === hostname()) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  return now - heartbeat < staleMs;
}

export class TriggerStore {
  readonly db: Database.Database;
  private constructor(db: Database.Database) {
    this.db = db;
  }

  /** Opens the trigger tables in `file`, a store the runner has already created (see `ensureStore`). */
  static open(file: string, opts: { readonly?: boolean; busyTimeoutMs?: number } = {}): TriggerStore {
    const db = new Database(file, { readonly: !!opts.readonly, fileMustExist: true });
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.transaction(() => {
        db.exec(SCHEMA);
        const row = db.prepare(`SELECT value FROM trigger_meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
        if (!row) db.prepare(`INSERT INTO trigger_meta (key, value) VALUES ('schema_version', ?)`).run(String(TRIGGER_SCHEMA_VERSION));
        else if (Number(row.value) > TRIGGER_SCHEMA_VERSION) throw new TriggerError('store.newer', `the trigger tables in ${file} were written by a newer Sluice (schema ${row.value}; this version reads up to ${TRIGGER_SCHEMA_VERSION})`);
      }).immediate();
    } else if (!db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='trigger_meta'`).get()) {
      db.close();
      throw new TriggerError('store.noTriggers', `no trigger state in ${file}: the daemon has not run here yet`);
    }
    return new TriggerStore(db);
  }

  /**
   * The trigger tables of the store file `file` opened read-only, or undefined when there are none
   * to read: no store file, or a store the daemon has never served. Anything else wrong with the
   * store (damaged, locked, written by a newer Sluice) throws.
   *
   * @example
   * const store = TriggerStore.read('.sluice/state.db');
   * try { console.log(store?.decisions('nightly', 10)); } finally { store?.close(); }
   */
  static read(file: string, opts: { busyTimeoutMs?: number } = {}): TriggerStore | undefined {
    if (!existsSync(file)) return undefined;
    try {
      return TriggerStore.open(file, { ...opts, readonly: true });
    } catch (e) {
      if (e instanceof TriggerError && e.code === 'store.noTriggers') return undefined;
      throw e;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Takes the one-daemon-per-store lease; a holder that is gone (dead pid here, or no heartbeat for `staleMs`) is taken over. */
  acquireDaemonLease(holder: string, now: number, staleMs = 30_000): void {
    this.db.transaction(() => {
      const cur = this.db.prepare(`SELECT * FROM trigger_daemon WHERE id = 1`).get() as { holder: string; pid: number; host: string; heartbeat_at: number; acquired_at: number } | undefined;
      if (cur && cur.holder !== holder && alive(cur.pid, cur.host, cur.heartbeat_at, now, staleMs))
        throw new TriggerError('daemon.running', `another trigger daemon (pid ${cur.pid} on ${cur.host}, since ${new Date(cur.acquired_at).toISOString()}) serves this store; stop it first`);
      this.db.prepare(`INSERT OR REPLACE INTO trigger_daemon (id, holder, pid, host, acquired_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?)`).run(holder, process.pid, hostname(), now, now);
    }).immediate();
  }
  beatDaemonLease(holder: string, now: number): void {
    this.db.prepare(`UPDATE trigger_daemon SET heartbeat_at = ? WHERE id = 1 AND holder = ?`).run(now, holder);
  }
  releaseDaemonLease(holder: string): void {
    this.db.prepare(`DELETE FROM trigger_daemon WHERE id = 1 AND holder = ?`).run(holder);
  }

  loadState(name: string): TriggerState {
    const row = this.db.prepare(`SELECT state FROM trigger_state WHERE name = ?`).get(name) as { state: string } | undefined;
    if (!row) return initialState();
    const s = JSON.parse(row.state) as TriggerState;
    return s.version === STATE_VERSION ? s : initialState();
  }

  /**
   * Commits one engine step: the new state, every decision, and a reservation per fire (UNIQUE
   * dedupe key), in one transaction. A fire whose key is already reserved is recorded as a
   * suppression instead. Returns the fires reserved now.
   */
  commit(name: string, irHash: string, state: TriggerState, decisions: readonly Decision[], now: number, attachment?: Attachment): Decision[] {
    const reserved: Decision[] = [];
    this.db.transaction(() => {
      this.db.prepare(`INSERT INTO trigger_state (name, ir_hash, state, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET ir_hash = excluded.ir_hash, state = excluded.state, updated_at = excluded.updated_at`)
        .run(name, irHash, JSON.stringify(state), now);
      const ins = this.db.prepare(`INSERT INTO trigger_decisions (trigger, at, kind, reason, evidence, event, dedupe_key, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
      const reserve = this.db.prepare(`INSERT INTO trigger_fires (dedupe_key, trigger, run_id, params, event, status, reserved_at) VALUES (?, ?, ?, ?, ?, 'reserved', ?) ON CONFLICT DO NOTHING`);
      for (const d0 of decisions) {
        let d = d0;
        if (d.kind === 'fire') {
          const r = reserve.run(d.dedupeKey!, name, d.runId!, JSON.stringify(d.params ?? {}), JSON.stringify(d.event ?? {}), now);
          if (r.changes === 0) d = { ...d, kind: 'suppress', reason: `duplicate: ${d.dedupeKey} is already reserved in the store` };
          else {
            reserved.push(d);
            if (attachment) this.db.prepare(`INSERT OR REPLACE INTO trigger_reports (run_id, name, trigger, path, sha256, bytes, media_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
              .run(d.runId!, attachment.name, name, attachment.path, attachment.sha256, attachment.bytes, attachment.mediaType, now);
          }
        }
        ins.run(d.trigger, d.at, d.kind, d.reason, JSON.stringify(d.evidence), d.event ? JSON.stringify(d.event) : null, d.dedupeKey ?? null, d.runId ?? null);
      }
    }).immediate();
    return reserved;
  }

  markLaunched(dedupeKey: string, now: number): void {
    this.db.prepare(`UPDATE trigger_fires SET status = 'launched', launched_at = ? WHERE dedupe_key = ? AND status = 'reserved'`).run(now, dedupeKey);
  }
  markFinished(runId: string, status: string, now: number): void {
    this.db.prepare(`UPDATE trigger_fires SET status = 'finished', finished_at = ?, run_status = ? WHERE run_id = ?`).run(now, status, runId);
  }
  unfinishedFires(): FireRow[] {
    return this.db.prepare(`SELECT * FROM trigger_fires WHERE status != 'finished' ORDER BY reserved_at, dedupe_key`).all() as FireRow[];
  }
  fires(trigger?: string): FireRow[] {
    return (trigger ? this.db.prepare(`SELECT * FROM trigger_fires WHERE trigger = ? ORDER BY reserved_at`).all(trigger) : this.db.prepare(`SELECT * FROM trigger_fires ORDER BY reserved_at`).all()) as FireRow[];
  }
  decisions(trigger: string, limit = 50): DecisionRow[] {
    return (this.db.prepare(`SELECT * FROM trigger_decisions WHERE trigger = ? ORDER BY id DESC LIMIT ?`).all(trigger, limit) as DecisionRow[]).reverse();
  }
  seen(trigger: string): Map<string, string> {
    return new Map((this.db.prepare(`SELECT key, etag FROM trigger_seen WHERE trigger = ?`).all(trigger) as { key: string; etag: string }[]).map((r) => [r.key, r.etag]));
  }
  markSeen(trigger: string, key: string, etag: string): void {
    this.db.prepare(`INSERT OR REPLACE INTO trigger_seen (trigger, key, etag) VALUES (?, ?, ?)`).run(trigger, key, etag);
  }
  /** Files attached to a run a trigger started (its drift report). */
  reports(runId: string): ReportRow[] {
    if (!this.db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='trigger_reports'`).get()) return [];
    return this.db.prepare(`SELECT * FROM trigger_reports WHERE run_id = ? ORDER BY name`).all(runId) as ReportRow[];
  }
  forgetSeen(trigger: string, key: string): void {
    this.db.prepare(`DELETE FROM trigger_seen WHERE trigger = ? AND key = ?`).run(trigger, key);
  }
  /** A source's first listing: every object seen, the cursor set and the decision recorded, in one transaction. */
  baseline(trigger: string, cursor: string, objects: readonly (readonly [string, string])[], now: number, d: Decision): void {
    this.db.transaction(() => {
      const ins = this.db.prepare(`INSERT OR REPLACE INTO trigger_seen (trigger, key, etag) VALUES (?, ?, ?)`);
      for (const [k, e] of objects) ins.run(trigger, k, e);
      this.db.prepare(`INSERT OR REPLACE INTO trigger_cursors (name, value) VALUES (?, ?)`).run(cursor, String(now));
      this.db.prepare(`INSERT INTO trigger_decisions (trigger, at, kind, reason, evidence, event, dedupe_key, run_id) VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL)`).run(d.trigger, d.at, d.kind, d.reason, JSON.stringify(d.evidence));
    }).immediate();
  }
  cursor(name: string): string | undefined {
    return (this.db.prepare(`SELECT value FROM trigger_cursors WHERE name = ?`).get(name) as { value: string } | undefined)?.value;
  }
  setCursor(name: string, value: string): void {
    this.db.prepare(`INSERT OR REPLACE INTO trigger_cursors (name, value) VALUES (?, ?)`).run(name, value);
  }

  // --- the runner's tables, read only ---------------------------------------------------------

  run(id: string): RunRowLite | undefined {
    return this.db.prepare(`SELECT id, pipeline, status, finished_at, params, outputs, created_at FROM runs WHERE id = ?`).get(id) as RunRowLite | undefined;
  }
  /** Whether a live process drives the run (the runner's lease). */
  runDriven(id: string, now: number): boolean {
    const l = this.db.prepare(`SELECT pid, host, heartbeat_at FROM leases WHERE run_id = ?`).get(id) as { pid: number; host: string; heartbeat_at: number } | undefined;
    return !!l && alive(l.pid, l.host, l.heartbeat_at, now, 30_000);
  }
  /** Runs that finished after `after` (ms), oldest first. */
  finishedRuns(after: number): RunRowLite[] {
    return this.db.prepare(`SELECT id, pipeline, status, finished_at, params, outputs, created_at FROM runs WHERE finished_at IS NOT NULL AND finished_at > ? AND status != 'running' ORDER BY finished_at, id`).all(after) as RunRowLite[];
  }
  /** The last successful run of `pipeline` finished at or before `at`. */
  lastSucceeded(pipeline: string, at = Number.MAX_SAFE_INTEGER): RunRowLite | undefined {
    return this.db.prepare(`SELECT id, pipeline, status, finished_at, params, outputs, created_at FROM runs WHERE pipeline = ? AND status = 'succeeded' AND finished_at <= ? ORDER BY finished_at DESC, id DESC LIMIT 1`).get(pipeline, at) as RunRowLite | undefined;
  }
  /**
   * The last value of a metric a run logged (`ctx.log.metric`, the tracking store's `tr_metrics`
   * in this same file): `name`, or `task/name` for one task; the highest step, then the latest time.
   */
  lastMetric(runId: string, metric: string): { value: number; task: string; step: number } | undefined {
    if (!this.db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='tr_metrics'`).get()) return undefined;
    const slash = metric.lastIndexOf('/');
    const [task, name] = slash < 0 ? [undefined, metric] : [metric.slice(0, slash), metric.slice(slash + 1)];
    const row = (task === undefined
      ? this.db.prepare(`SELECT value, task_key, step FROM tr_metrics WHERE run_id = ? AND name = ? ORDER BY step DESC, time DESC, attempt DESC LIMIT 1`).get(runId, name)
      : this.db.prepare(`SELECT value, task_key, step FROM tr_metrics WHERE run_id = ? AND name = ? AND task_key = ? ORDER BY step DESC, time DESC, attempt DESC LIMIT 1`).get(runId, name, task)) as { value: number; task_key: string; step: number } | undefined;
    return row ? { value: row.value, task: row.task_key, step: row.step } : undefined;
  }
  runsOf(pipeline: string): RunRowLite[] {
    return this.db.prepare(`SELECT id, pipeline, status, finished_at, params, outputs, created_at FROM runs WHERE pipeline = ? ORDER BY created_at`).all(pipeline) as RunRowLite[];
  }
}

export type { JsonValue };
