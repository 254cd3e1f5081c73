/**
 * better-sqlite3's API, as much of it as Sluice's stores use, over Node 22's `node:sqlite`
 * (bench/store-sqlite.bench.ts loads it in place of better-sqlite3 through sqlite-hooks.mjs).
 * It is also the measure of what a switch would take: prepare/get/all/run, pluck, exec, pragma,
 * transaction(...).immediate(), open, readonly, SQLite error codes as better-sqlite3 names them, and
 * the two build defaults of better-sqlite3 the stores rely on without setting them: a 16 MB page cache
 * and, in WAL mode, synchronous=NORMAL (node:sqlite's SQLite keeps FULL: an fsync per commit, about
 * 25 times slower per small commit here).
 */
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';

// better-sqlite3 names errors by SQLite's result code; node:sqlite says ERR_SQLITE_ERROR with `errcode`.
const PRIMARY = { 1: 'SQLITE_ERROR', 5: 'SQLITE_BUSY', 6: 'SQLITE_LOCKED', 8: 'SQLITE_READONLY', 10: 'SQLITE_IOERR', 11: 'SQLITE_CORRUPT', 13: 'SQLITE_FULL', 14: 'SQLITE_CANTOPEN', 19: 'SQLITE_CONSTRAINT', 26: 'SQLITE_NOTADB' };
function named(e) {
  if (e && typeof e === 'object' && typeof e.errcode === 'number') e.code = PRIMARY[e.errcode & 0xff] ?? `SQLITE_${e.errcode & 0xff}`;
  return e;
}
function guard(f) {
  try {
    return f();
  } catch (e) {
    throw named(e);
  }
}

class Statement {
  #s;
  #pluck = false;
  constructor(s) {
    this.#s = s;
    s.setAllowUnknownNamedParameters?.(true);
  }
  pluck(on = true) {
    this.#pluck = on;
    return this;
  }
  run(...a) {
    const r = guard(() => this.#s.run(...a));
    return { changes: Number(r.changes), lastInsertRowid: r.lastInsertRowid };
  }
  get(...a) {
    const r = guard(() => this.#s.get(...a));
    return this.#pluck && r ? Object.values(r)[0] : r;
  }
  all(...a) {
    const rows = guard(() => this.#s.all(...a));
    return this.#pluck ? rows.map((r) => Object.values(r)[0]) : rows;
  }
}

export default class Database {
  #d;
  #depth = 0;
  constructor(file, o = {}) {
    if ((o.fileMustExist || o.readonly) && !existsSync(file)) throw Object.assign(new Error(`unable to open database file: ${file}`), { code: 'SQLITE_CANTOPEN' });
    this.#d = guard(() => new DatabaseSync(file, { readOnly: !!o.readonly }));
    this.#d.exec('PRAGMA cache_size = -16000'); // better-sqlite3's SQLITE_DEFAULT_CACHE_SIZE
    this.readonly = !!o.readonly;
    this.name = file;
  }
  get open() {
    return this.#d.isOpen;
  }
  prepare(sql) {
    return new Statement(guard(() => this.#d.prepare(sql)));
  }
  exec(sql) {
    guard(() => this.#d.exec(sql));
    return this;
  }
  pragma(p) {
    const rows = this.prepare(`PRAGMA ${p}`).all();
    // better-sqlite3's SQLITE_DEFAULT_WAL_SYNCHRONOUS=1; an explicit `synchronous` set later still wins
    if (/^journal_mode\s*=\s*wal$/i.test(p.trim())) this.#d.exec('PRAGMA synchronous = NORMAL');
    return rows;
  }
  close() {
    this.#d.close();
  }
  transaction(fn) {
    const as = (mode) => (...args) => {
      const outer = this.#depth === 0;
      const sp = `s${this.#depth}`;
      this.exec(outer ? `BEGIN ${mode}` : `SAVEPOINT ${sp}`);
      this.#depth++;
      try {
        const r = fn(...args);
        this.exec(outer ? 'COMMIT' : `RELEASE ${sp}`);
        return r;
      } catch (e) {
        if (outer) { if (this.#d.isTransaction) this.#d.exec('ROLLBACK'); } else this.#d.exec(`ROLLBACK TO ${sp}; RELEASE ${sp}`);
        throw e;
      } finally {
        this.#depth--;
      }
    };
    const t = as('DEFERRED');
    return Object.assign(t, { deferred: t, immediate: as('IMMEDIATE'), exclusive: as('EXCLUSIVE') });
  }
}
