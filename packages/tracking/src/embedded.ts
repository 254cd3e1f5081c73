/**
 * The embedded tracking store: metrics, params and tags of every task attempt, the model registry
 * (models, versions, aliases with their history, gate decisions) and what has been sent to MLflow.
 * Tables live in the run store's `state.db` beside the runner's, under their own schema version
 * (`meta.tracking_schema`), so one file holds a run and everything it logged.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TrackingEvent } from './events.ts';
import { TrackingError } from './events.ts';
import { checkModelName } from './names.ts';

export const TRACKING_SCHEMA = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tr_metrics (
  run_id TEXT NOT NULL, task_key TEXT NOT NULL, attempt INTEGER NOT NULL,
  name TEXT NOT NULL, step INTEGER NOT NULL, time INTEGER NOT NULL, value REAL NOT NULL,
  UNIQUE (run_id, task_key, attempt, name, step, time, value)
);
CREATE INDEX IF NOT EXISTS tr_metrics_by_name ON tr_metrics (run_id, name, task_key, step);
CREATE TABLE IF NOT EXISTS tr_params (
  run_id TEXT NOT NULL, task_key TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (run_id, task_key, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tr_tags (
  run_id TEXT NOT NULL, task_key TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (run_id, task_key, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tr_models (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tr_versions (
  name TEXT NOT NULL, version INTEGER NOT NULL,
  run_id TEXT NOT NULL, task_key TEXT NOT NULL, artifact_hash TEXT NOT NULL, artifact_uri TEXT NOT NULL,
  git_commit TEXT, git_dirty INTEGER, train_data TEXT NOT NULL, eval_data TEXT NOT NULL,
  metrics TEXT NOT NULL, tags TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tr_aliases (
  name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (name, alias)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tr_alias_history (
  name TEXT NOT NULL, alias TEXT NOT NULL, seq INTEGER NOT NULL, version INTEGER, previous INTEGER,
  at INTEGER NOT NULL, why TEXT NOT NULL, decision_id INTEGER,
  PRIMARY KEY (name, alias, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tr_decisions (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, alias TEXT NOT NULL, challenger INTEGER NOT NULL, holder INTEGER,
  passed INTEGER NOT NULL, reasons TEXT NOT NULL, checks TEXT NOT NULL, run_id TEXT, task_key TEXT, at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tr_sync (
  uri TEXT NOT NULL, run_id TEXT NOT NULL, task_key TEXT NOT NULL, mlflow_run_id TEXT NOT NULL,
  metrics_sent INTEGER NOT NULL DEFAULT 0, params_sent TEXT NOT NULL DEFAULT '', finished INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (uri, run_id, task_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tr_pending (
  uri TEXT NOT NULL, run_id TEXT NOT NULL, since INTEGER NOT NULL, last_error TEXT NOT NULL,
  PRIMARY KEY (uri, run_id)
) WITHOUT ROWID;
`;

export interface MetricPoint { readonly taskKey: string; readonly attempt: number; readonly name: string; readonly step: number; readonly time: number; readonly value: number }
export interface ModelVersion {
  readonly name: string;
  readonly version: number;
  readonly runId: string;
  readonly taskKey: string;
  readonly artifactHash: string;
  readonly artifactUri: string;
  readonly gitCommit: string | null;
  readonly gitDirty: boolean | null;
  readonly trainData: readonly string[];
  readonly evalData: readonly string[];
  readonly metrics: { readonly [name: string]: number };
  readonly tags: { readonly [name: string]: string };
  readonly createdAt: number;
  readonly aliases: readonly string[];
}
export interface NewVersion {
  readonly name: string;
  readonly runId: string;
  readonly taskKey: string;
  readonly artifactHash: string;
  readonly artifactUri: string;
  readonly gitCommit?: string | null;
  readonly gitDirty?: boolean | null;
  readonly trainData?: readonly string[];
  readonly evalData?: readonly string[];
  readonly metrics?: { readonly [name: string]: number };
  readonly tags?: { readonly [name: string]: string };
}
export interface DecisionRow {
  readonly id: number; readonly name: string; readonly alias: string; readonly challenger: number; readonly holder: number | null;
  readonly passed: boolean; readonly reasons: readonly string[]; readonly checks: readonly { check: string; passed: boolean; detail: string }[];
  readonly runId: string | null; readonly taskKey: string | null; readonly at: number;
}
export interface AliasChange { readonly seq: number; readonly version: number | null; readonly previous: number | null; readonly at: number; readonly why: string; readonly decisionId: number | null }

/** The state database of a store directory (`.sluice`). */
export function stateDbPath(storeDir: string): string {
  return join(storeDir, 'state.db');
}

export class TrackingStore {
  readonly db: Database.Database;
  private constructor(db: Database.Database) {
    this.db = db;
  }

  /**
   * Opens the tracking tables of a store directory (creating them when writing).
   *
   * @example
   * const t = TrackingStore.open('.sluice'); t.metrics(runId); t.close();
   */
  static open(storeDir: string, opts: { readonly?: boolean } = {}): TrackingStore {
    const file = stateDbPath(storeDir);
    if (opts.readonly && !existsSync(file)) throw new TrackingError('store.missing', `no Sluice store at ${storeDir} (no state.db)`);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const db = new Database(file, opts.readonly ? { readonly: true, fileMustExist: true } : {});
    db.pragma('busy_timeout = 10000');
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      const hasMeta = !!db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).get();
      const v = hasMeta ? (db.prepare(`SELECT value FROM meta WHERE key = 'tracking_schema'`).get() as { value: string } | undefined)?.value : undefined;
      if (v !== undefined && Number(v) > TRACKING_SCHEMA) {
        db.close();
        throw new TrackingError('store.newer', `the store's tracking tables are version ${v}, newer than this Sluice (${TRACKING_SCHEMA}): upgrade Sluice`);
      }
      db.transaction(() => {
        db.exec(SCHEMA);
        db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('tracking_schema', ?)`).run(String(TRACKING_SCHEMA));
      }).immediate();
    }
    return new TrackingStore(db);
  }

  close(): void {
    this.db.close();
  }

  private has(table: string): boolean {
    return !!this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table);
  }

  /** Records a task attempt's events; recording the same events again changes nothing. */
  ingest(runId: string, taskKey: string, attempt: number, events: readonly TrackingEvent[]): void {
    const m = this.db.prepare(`INSERT OR IGNORE INTO tr_metrics (run_id, task_key, attempt, name, step, time, value) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    const p = this.db.prepare(`INSERT INTO tr_params (run_id, task_key, name, value) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value`);
    const t = this.db.prepare(`INSERT INTO tr_tags (run_id, task_key, name, value) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value`);
    this.db.transaction(() => {
      for (const e of events) {
        if (e.kind === 'metric') m.run(runId, taskKey, attempt, e.name, e.step, e.time, e.value);
        else (e.kind === 'param' ? p : t).run(runId, taskKey, e.name, e.value);
      }
    }).immediate();
  }

  /** Every metric point of a run (optionally of one task), ordered by task, name, step, time. */
  metrics(runId: string, taskKey?: string): MetricPoint[] {
    if (!this.has('tr_metrics')) return [];
    const rows = this.db.prepare(`SELECT task_key, attempt, name, step, time, value FROM tr_metrics WHERE run_id = ? ${taskKey !== undefined ? 'AND task_key = ?' : ''} ORDER BY task_key, name, step, time, rowid`).all(...(taskKey !== undefined ? [runId, taskKey] : [runId])) as { task_key: string; attempt: number; name: string; step: number; time: number; value: number }[];
    return rows.map((r) => ({ taskKey: r.task_key, attempt: r.attempt, name: r.name, step: r.step, time: r.time, value: r.value }));
  }
  /** Metric rows after `afterRowid` (for sending), with their rowid. */
  metricsSince(runId: string, taskKey: string, afterRowid: number): (MetricPoint & { rowid: number })[] {
    const rows = this.db.prepare(`SELECT rowid, task_key, attempt, name, step, time, value FROM tr_metrics WHERE run_id = ? AND task_key = ? AND rowid > ? ORDER BY rowid`).all(runId, taskKey, afterRowid) as { rowid: number; task_key: string; attempt: number; name: string; step: number; time: number; value: number }[];
    return rows.map((r) => ({ rowid: r.rowid, taskKey: r.task_key, attempt: r.attempt, name: r.name, step: r.step, time: r.time, value: r.value }));
  }
  params(runId: string): { taskKey: string; name: string; value: string }[] {
    if (!this.has('tr_params')) return [];
    return (this.db.prepare(`SELECT task_key, name, value FROM tr_params WHERE run_id = ? ORDER BY task_key, name`).all(runId) as { task_key: string; name: string; value: string }[]).map((r) => ({ taskKey: r.task_key, name: r.name, value: r.value }));
  }
  tags(runId: string): { taskKey: string; name: string; value: string }[] {
    if (!this.has('tr_tags')) return [];
    return (this.db.prepare(`SELECT task_key, name, value FROM tr_tags WHERE run_id = ? ORDER BY task_key, name`).all(runId) as { task_key: string; name: string; value: string }[]).map((r) => ({ taskKey: r.task_key, name: r.name, value: r.value }));
  }
  /** Task keys of a run that logged anything. */
  trackedTasks(runId: string): string[] {
    if (!this.has('tr_metrics')) return [];
    return (this.db.prepare(`SELECT task_key FROM tr_metrics WHERE run_id = ? UNION SELECT task_key FROM tr_params WHERE run_id = ? UNION SELECT task_key FROM tr_tags WHERE run_id = ? ORDER BY 1`).all(runId, runId, runId) as { task_key: string }[]).map((r) => r.task_key);
  }

  // ---- registry

  /** Creates the next version of `name` (and the model when new); returns it. */
  registerVersion(v: NewVersion, now = Date.now()): ModelVersion {
    checkModelName(v.name);
    return this.db.transaction(() => {
      this.db.prepare(`INSERT OR IGNORE INTO tr_models (name, created_at) VALUES (?, ?)`).run(v.name, now);
      // The same model bytes are the same version (a retried step, or a re-run served from the cache).
      const same = this.db.prepare(`SELECT version FROM tr_versions WHERE name = ? AND artifact_hash = ? ORDER BY version LIMIT 1`).get(v.name, v.artifactHash) as { version: number } | undefined;
      if (same) return this.version(v.name, same.version) as ModelVersion;
      const next = ((this.db.prepare(`SELECT MAX(version) AS m FROM tr_versions WHERE name = ?`).get(v.name) as { m: number | null }).m ?? 0) + 1;
      this.db.prepare(`INSERT INTO tr_versions (name, version, run_id, task_key, artifact_hash, artifact_uri, git_commit, git_dirty, train_data, eval_data, metrics, tags, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        v.name, next, v.runId, v.taskKey, v.artifactHash, v.artifactUri, v.gitCommit ?? null, v.gitDirty === undefined || v.gitDirty === null ? null : v.gitDirty ? 1 : 0,
        JSON.stringify([...(v.trainData ?? [])].sort()), JSON.stringify([...(v.evalData ?? [])].sort()), JSON.stringify(v.metrics ?? {}), JSON.stringify(v.tags ?? {}), now);
      return this.version(v.name, next) as ModelVersion;
    }).immediate();
  }

  models(): { name: string; versions: number; aliases: { alias: string; version: number }[]; createdAt: number }[] {
    if (!this.has('tr_models')) return [];
    const rows = this.db.prepare(`SELECT m.name, m.created_at, (SELECT COUNT(*) FROM tr_versions v WHERE v.name = m.name) AS n FROM tr_models m ORDER BY m.name`).all() as { name: string; created_at: number; n: number }[];
    return rows.map((r) => ({ name: r.name, versions: r.n, createdAt: r.created_at, aliases: this.aliases(r.name) }));
  }
  aliases(name: string): { alias: string; version: number }[] {
    return (this.db.prepare(`SELECT alias, version FROM tr_aliases WHERE name = ? ORDER BY alias`).all(name) as { alias: string; version: number }[]);
  }
  version(name: string, version: number): ModelVersion | undefined {
    const r = this.db.prepare(`SELECT * FROM tr_versions WHERE name = ? AND version = ?`).get(name, version) as Record<string, unknown> | undefined;
    return r && this.toVersion(r);
  }
  versions(name: string): ModelVersion[] {
    if (!this.has('tr_versions')) return [];
    return (this.db.prepare(`SELECT * FROM tr_versions WHERE name = ? ORDER BY version`).all(name) as Record<string, unknown>[]).map((r) => this.toVersion(r));
  }
  byAlias(name: string, alias: string): ModelVersion | undefined {
    if (!this.has('tr_aliases')) return undefined;
    const a = this.db.prepare(`SELECT version FROM tr_aliases WHERE name = ? AND alias = ?`).get(name, alias) as { version: number } | undefined;
    return a && this.version(name, a.version);
  }
  private toVersion(r: Record<string, unknown>): ModelVersion {
    const name = r.name as string;
    const version = r.version as number;
    return {
      name, version, runId: r.run_id as string, taskKey: r.task_key as string, artifactHash: r.artifact_hash as string, artifactUri: r.artifact_uri as string,
      gitCommit: (r.git_commit as string | null) ?? null, gitDirty: r.git_dirty === null ? null : r.git_dirty === 1,
      trainData: JSON.parse(r.train_data as string), evalData: JSON.parse(r.eval_data as string), metrics: JSON.parse(r.metrics as string), tags: JSON.parse(r.tags as string),
      createdAt: r.created_at as number,
      aliases: (this.db.prepare(`SELECT alias FROM tr_aliases WHERE name = ? AND version = ? ORDER BY alias`).all(name, version) as { alias: string }[]).map((a) => a.alias),
    };
  }

  /**
   * Moves `alias` to `version` only if it is still held by `expected` (compare-and-swap; `null`:
   * nobody), recording the change. Returns false when another writer moved it first.
   */
  moveAlias(name: string, alias: string, version: number | null, expected: number | null, why: string, decisionId: number | null, now = Date.now()): boolean {
    checkModelName(alias, 'alias');
    return this.db.transaction(() => {
      const cur = (this.db.prepare(`SELECT version FROM tr_aliases WHERE name = ? AND alias = ?`).get(name, alias) as { version: number } | undefined)?.version ?? null;
      if (cur !== expected) return false;
      if (version === null) this.db.prepare(`DELETE FROM tr_aliases WHERE name = ? AND alias = ?`).run(name, alias);
      else this.db.prepare(`INSERT INTO tr_aliases (name, alias, version, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`).run(name, alias, version, now);
      const seq = ((this.db.prepare(`SELECT MAX(seq) AS s FROM tr_alias_history WHERE name = ? AND alias = ?`).get(name, alias) as { s: number | null }).s ?? 0) + 1;
      this.db.prepare(`INSERT INTO tr_alias_history (name, alias, seq, version, previous, at, why, decision_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(name, alias, seq, version, cur, now, why, decisionId);
      return true;
    }).immediate();
  }
  aliasHistory(name: string, alias: string): AliasChange[] {
    if (!this.has('tr_alias_history')) return [];
    return (this.db.prepare(`SELECT seq, version, previous, at, why, decision_id FROM tr_alias_history WHERE name = ? AND alias = ? ORDER BY seq`).all(name, alias) as { seq: number; version: number | null; previous: number | null; at: number; why: string; decision_id: number | null }[])
      .map((r) => ({ seq: r.seq, version: r.version, previous: r.previous, at: r.at, why: r.why, decisionId: r.decision_id }));
  }
  recordDecision(d: Omit<DecisionRow, 'id'>): number {
    const r = this.db.prepare(`INSERT INTO tr_decisions (name, alias, challenger, holder, passed, reasons, checks, run_id, task_key, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      d.name, d.alias, d.challenger, d.holder, d.passed ? 1 : 0, JSON.stringify(d.reasons), JSON.stringify(d.checks), d.runId, d.taskKey, d.at);
    return Number(r.lastInsertRowid);
  }
  decisions(name: string): DecisionRow[] {
    if (!this.has('tr_decisions')) return [];
    return (this.db.prepare(`SELECT * FROM tr_decisions WHERE name = ? ORDER BY id`).all(name) as Record<string, unknown>[]).map((r) => ({
      id: r.id as number, name: r.name as string, alias: r.alias as string, challenger: r.challenger as number, holder: (r.holder as number | null) ?? null,
      passed: r.passed === 1, reasons: JSON.parse(r.reasons as string), checks: JSON.parse(r.checks as string), runId: (r.run_id as string | null) ?? null, taskKey: (r.task_key as string | null) ?? null, at: r.at as number,
    }));
  }

  /** Runs an immediate transaction (for a compare-and-swap spanning several calls). */
  transaction<T>(f: () => T): T {
    return this.db.transaction(f).immediate();
  }

  // ---- MLflow sync bookkeeping
  syncRow(uri: string, runId: string, taskKey: string): { mlflowRunId: string; metricsSent: number; paramsSent: Set<string>; finished: boolean } | undefined {
    const r = this.db.prepare(`SELECT mlflow_run_id, metrics_sent, params_sent, finished FROM tr_sync WHERE uri = ? AND run_id = ? AND task_key = ?`).get(uri, runId, taskKey) as { mlflow_run_id: string; metrics_sent: number; params_sent: string; finished: number } | undefined;
    return r && { mlflowRunId: r.mlflow_run_id, metricsSent: r.metrics_sent, paramsSent: new Set(r.params_sent ? r.params_sent.split('\n') : []), finished: r.finished === 1 };
  }
  saveSync(uri: string, runId: string, taskKey: string, s: { mlflowRunId: string; metricsSent: number; paramsSent: Set<string>; finished: boolean }): void {
    this.db.prepare(`INSERT INTO tr_sync (uri, run_id, task_key, mlflow_run_id, metrics_sent, params_sent, finished) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET mlflow_run_id = excluded.mlflow_run_id, metrics_sent = excluded.metrics_sent, params_sent = excluded.params_sent, finished = excluded.finished`)
      .run(uri, runId, taskKey, s.mlflowRunId, s.metricsSent, [...s.paramsSent].sort().join('\n'), s.finished ? 1 : 0);
  }
  markPending(uri: string, runId: string, error: string, now = Date.now()): void {
    this.db.prepare(`INSERT INTO tr_pending (uri, run_id, since, last_error) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET last_error = excluded.last_error`).run(uri, runId, now, error);
  }
  clearPending(uri: string, runId: string): void {
    this.db.prepare(`DELETE FROM tr_pending WHERE uri = ? AND run_id = ?`).run(uri, runId);
  }
  pending(uri?: string): { uri: string; runId: string; since: number; lastError: string }[] {
    if (!this.has('tr_pending')) return [];
    return (this.db.prepare(`SELECT uri, run_id, since, last_error FROM tr_pending ${uri ? 'WHERE uri = ?' : ''} ORDER BY since`).all(...(uri ? [uri] : [])) as { uri: string; run_id: string; since: number; last_error: string }[])
      .map((r) => ({ uri: r.uri, runId: r.run_id, since: r.since, lastError: r.last_error }));
  }
}
