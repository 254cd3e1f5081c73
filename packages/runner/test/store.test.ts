import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/index.ts';
import { checkArtifactName, resolveInside } from '../src/store/cas.ts';
import { StateStore } from '../src/store/state.ts';
import { fn, lit, out, param, paramSpec, pipeline, task, tmp } from './helpers.ts';

const noop = fn('noop', { outputs: { ok: 'boolean' } }, async () => ({ ok: true }));
const p = pipeline('storep', [noop], [task('a', noop)]);

describe('state store', () => {
  it('refuses a corrupt database and leaves it untouched', async () => {
    const dir = tmp();
    const db = join(dir, 'state.db');
    writeFileSync(db, 'this is not a database at all, just some text that is long enough');
    const before = readFileSync(db);
    await expect(runPipeline(p, { storeDir: dir, mode: 'inprocess' })).rejects.toThrow(/state store .*state\.db is not an SQLite database \(damaged or overwritten\); refusing to touch it/);
    expect(readFileSync(db)).toEqual(before);
  });

  it('refuses a database from a newer version and leaves it untouched', async () => {
    const dir = tmp();
    await runPipeline(p, { storeDir: dir, mode: 'inprocess' });
    const raw = new Database(join(dir, 'state.db'));
    raw.prepare(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`).run();
    raw.close();
    const before = readFileSync(join(dir, 'state.db'));
    await expect(runPipeline(p, { storeDir: dir, mode: 'inprocess' })).rejects.toThrow('was written by a newer Sluice (schema 99; this version reads up to 2)');
    expect(readFileSync(join(dir, 'state.db'))).toEqual(before);
  });

  it('gives a version-1 store its locks table when opened for writing; read-only it is left as it is', async () => {
    const dir = tmp();
    await runPipeline(p, { storeDir: dir, mode: 'inprocess' });
    const raw = new Database(join(dir, 'state.db'));
    raw.exec(`DROP TABLE locks; UPDATE meta SET value = '1' WHERE key = 'schema_version'`);
    raw.close();
    const ro = StateStore.open(join(dir, 'state.db'), { readonly: true });
    expect(ro.locksOfRun('x')).toEqual([]);
    ro.close();
    const version = () => {
      const d = new Database(join(dir, 'state.db'), { readonly: true });
      const v = d.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get();
      d.close();
      return v;
    };
    expect(version()).toBe('1');
    const r = await runPipeline(pipeline('storep2', [noop], [task('a', noop, {}, [], { synchronization: { mutexes: ['m'] } })]), { storeDir: dir, mode: 'inprocess' });
    expect(r.status).toBe('succeeded');
    expect(version()).toBe('2');
  });

  it('says when the database is locked by another process', async () => {
    const dir = tmp();
    await runPipeline(p, { storeDir: dir, mode: 'inprocess' });
    const raw = new Database(join(dir, 'state.db'));
    raw.exec('BEGIN EXCLUSIVE');
    try {
      const s = StateStore.open(join(dir, 'state.db'), { busyTimeoutMs: 50 });
      s.close();
      throw new Error('expected a lock error');
    } catch (e) {
      expect((e as Error).message).toMatch(/is locked by another process/);
    } finally {
      raw.exec('ROLLBACK');
      raw.close();
    }
  });

  it('lets several processes open a new store at the same moment (no spurious "locked")', async () => {
    const { spawn } = await import('node:child_process');
    const script = `import { StateStore } from ${JSON.stringify(join(import.meta.dirname, '..', 'src', 'store', 'state.ts'))};
const at = Number(process.argv[2]); while (Date.now() < at) {}
try { StateStore.open(process.argv[1]).close(); } catch (e) { console.error(e.message); process.exit(1); }`;
    for (let round = 0; round < 4; round++) {
      const file = join(tmp(), 'state.db');
      const start = Date.now() + 1500;
      const codes = await Promise.all(Array.from({ length: 4 }, () => new Promise<{ code: number | null; err: string }>((resolve) => {
        const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file, String(start)], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        c.stderr.on('data', (d) => { err += String(d); });
        c.on('close', (code) => resolve({ code, err }));
      })));
      expect(codes, `round ${round}`).toEqual(Array.from({ length: 4 }, () => ({ code: 0, err: '' })));
    }
  });

  it('refuses an SQLite file that is not a Sluice store', () => {
    const dir = tmp();
    const raw = new Database(join(dir, 'other.db'));
    raw.exec('CREATE TABLE x (a)');
    raw.close();
    expect(() => StateStore.open(join(dir, 'other.db'))).toThrow('is an SQLite database but not a Sluice state store');
  });

  it('gives a run to one driver at a time (lease) and names the holder', () => {
    const dir = tmp();
    const s = StateStore.open(join(dir, 'state.db'));
    s.acquireLease('r1', 'holder-a', Date.now());
    expect(() => s.acquireLease('r1', 'holder-b', Date.now())).toThrow(new RegExp(`run r1 is being driven by pid ${process.pid} on `));
    s.releaseLease('r1', 'holder-a');
    s.acquireLease('r1', 'holder-b', Date.now());
    // a holder whose process is gone is taken over
    s.db.prepare(`UPDATE leases SET pid = 999999999 WHERE run_id = 'r1'`).run();
    s.acquireLease('r1', 'holder-c', Date.now());
    s.close();
  });
});

describe('looking runs and artifacts up', () => {
  it('an empty run id names no run, and text that is not hex names no artifact (never a prefix of every one)', async () => {
    const dir = tmp();
    const r = await runPipeline(p, { storeDir: dir, mode: 'inprocess' });
    const s = StateStore.open(join(dir, 'state.db'));
    try {
      expect(s.findRun(r.runId.slice(0, 4)).id).toBe(r.runId);
      expect(() => s.findRun('')).toThrow(/the run id is empty/);
      const hash = 'ede'.padEnd(64, '0');
      s.db.prepare(`INSERT INTO artifacts (run_id, task_key, output, hash, type, size, metadata) VALUES (?, 'a', 'x', ?, 'Dataset', 1, '{}')`).run(r.runId, hash);
      expect(s.artifactsByHash('EDE0').map((a) => a.hash)).toEqual([hash]);
      for (const text of ['', 'zz', 'sha256:', 'my-model']) expect(s.artifactsByHash(text)).toEqual([]);
    } finally {
      s.close();
    }
  });
});

describe('artifact names', () => {
  it('cannot escape the artifact root', () => {
    expect(() => checkArtifactName('../etc/passwd')).toThrow('invalid artifact name "../etc/passwd"');
    expect(() => checkArtifactName('a/b')).toThrow();
    expect(() => checkArtifactName('..')).toThrow();
    expect(checkArtifactName('model.pt')).toBe('model.pt');
    expect(() => resolveInside('/tmp/root', '../x')).toThrow('escapes the artifact root');
    expect(resolveInside('/tmp/root', 'a', 'b')).toBe('/tmp/root/a/b');
  });

  it('rejects a component output whose name would escape', async () => {
    const evil = fn('evil', { outputs: { '../../escape': 'artifact:Dataset' } }, async () => {});
    const r = await runPipeline(pipeline('evil', [evil], [task('e', evil)]), { storeDir: tmp(), mode: 'inprocess' });
    expect(r.status).toBe('failed');
    expect(r.tasks.e?.error).toMatch(/invalid output name "..\/..\/escape"/);
  });
});

describe('parameters', () => {
  it('fail before any step runs, naming the parameter', async () => {
    let ran = false;
    const f = fn('f', { inputs: { n: 'number' } }, async () => { ran = true; });
    const pp = pipeline('params', [f], [task('f', f, { n: param('n') })], { params: { n: paramSpec('number'), s: paramSpec('string', 'x') } });
    await expect(runPipeline(pp, { storeDir: tmp(), mode: 'inprocess', params: { n: 'fast' }, paramsFromCli: true })).rejects.toThrow('params/params.n: expected number, got "fast"');
    await expect(runPipeline(pp, { storeDir: tmp(), mode: 'inprocess', params: {} })).rejects.toThrow('params/params.n: required parameter is missing');
    await expect(runPipeline(pp, { storeDir: tmp(), mode: 'inprocess', params: { n: 1, zz: 2 } })).rejects.toThrow('params/params.zz: unknown parameter');
    expect(ran).toBe(false);
    void lit; void out;
  });
});
