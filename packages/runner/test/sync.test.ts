/**
 * Mutexes and semaphores shared by the runs of one store: steps write the times they start and end,
 * and the tests check that holders never overlap (never wall-clock durations).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runPipeline, type RunEvent } from '../src/index.ts';
import { StateStore } from '../src/store/state.ts';
import { fn, lit, pipeline, task, tmp } from './helpers.ts';
import { holder, mutexed, semaphored } from './fixtures/sync.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.mjs');
const ENTRY = join(import.meta.dirname, 'fixtures', 'sync.ts');

interface Span { run: string; key: string; start: number; end: number }

/** The steps' own start/end times, one span per (run, task). */
function spans(file: string): Span[] {
  const m = new Map<string, Partial<Span>>();
  for (const l of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [run, key, what, t] = l.split(' ') as [string, string, 'start' | 'end', string];
    const s = m.get(`${run} ${key}`) ?? { run, key };
    s[what] = Number(t);
    m.set(`${run} ${key}`, s);
  }
  return [...m.values()].map((s) => {
    expect(s.start, `${s.run} ${s.key} started`).toBeTypeOf('number');
    expect(s.end, `${s.run} ${s.key} ended`).toBeTypeOf('number');
    return s as Span;
  });
}

/** The most spans open at one moment (an end at the same millisecond as a start closes first). */
function maxOverlap(ss: readonly Span[]): number {
  const ev = ss.flatMap((s) => [[s.start, 1], [s.end, -1]] as [number, number][]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  let max = 0;
  for (const [, d] of ev) max = Math.max(max, (n += d));
  return max;
}

function sluice(args: string[], env: Record<string, string>): { done: Promise<{ code: number | null; signal: string | null; out: string }>; kill: () => void } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return { done: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out }))), kill: () => child.kill('SIGKILL') };
}

/** Two `sluice run`s of the same export on one store, started together (no cache: a hit runs nothing and holds nothing). */
async function twoRuns(exportName: string, env: Record<string, string> = {}) {
  const dir = tmp('sluice-sync-');
  const store = join(dir, 'store');
  const marks = join(dir, 'marks');
  const args = (id: string) => ['run', ENTRY, '--export', exportName, '--store', store, '--in-process', '--concurrency', '4', '--run-id', id, '--json', '--no-cache'];
  const [a, b] = await Promise.all([sluice(args('a'), { SLUICE_TEST_MARKS: marks, ...env }).done, sluice(args('b'), { SLUICE_TEST_MARKS: marks, ...env }).done]);
  expect(a.code, a.out).toBe(0);
  expect(b.code, b.out).toBe(0);
  const db = new Database(join(store, 'state.db'), { readonly: true });
  expect(db.prepare(`SELECT count(*) AS n FROM locks`).get()).toEqual({ n: 0 });
  db.close();
  return { spans: spans(marks), events: [a.out, b.out].flatMap((o) => o.trim().split('\n').map((l) => JSON.parse(l) as RunEvent)) };
}

describe('synchronization across runs sharing a store', () => {
  it('two runs never overlap tasks holding the same mutex', async () => {
    const { spans: ss } = await twoRuns('mutexed');
    expect(ss.map((s) => `${s.run} ${s.key}`).sort()).toEqual(['a w[0]', 'a w[1]', 'a w[2]', 'b w[0]', 'b w[1]', 'b w[2]']);
    expect(maxOverlap(ss)).toBe(1);
  });

  it('a semaphore of size 2 (SLUICE_SEMAPHORES) admits at most 2 holders across runs', async () => {
    const { spans: ss, events } = await twoRuns('semaphored', { SLUICE_SEMAPHORES: 'limits/trainers=2' });
    expect(ss).toHaveLength(10);
    expect(maxOverlap(ss)).toBeLessThanOrEqual(2);
    expect(events.filter((e) => e.type === 'warning')).toEqual([]);
    // 5 tasks per run, concurrency 4, 2 admitted: some task of each run must have waited
    expect(new Set(events.filter((e) => e.type === 'task.waiting').map((e) => e.runId))).toEqual(new Set(['a', 'b']));
  });

  it('a pipeline-level mutex serialises two runs (and covers a task of the run asking for it again)', async () => {
    const { spans: ss } = await twoRuns('runMutex');
    const byRun = (r: string) => ss.filter((s) => s.run === r);
    expect(byRun('a').map((s) => s.key).sort()).toEqual(['again[9]', 'w[0]', 'w[1]']);
    const [a, b] = ['a', 'b'].map((r) => ({ start: Math.min(...byRun(r).map((s) => s.start)), end: Math.max(...byRun(r).map((s) => s.end)) })) as [{ start: number; end: number }, { start: number; end: number }];
    expect(a.end <= b.start || b.end <= a.start, `run a ${a.start}..${a.end}, run b ${b.start}..${b.end}`).toBe(true);
  });

  it('a holder killed with SIGKILL does not block the next run: its hold is taken over', async () => {
    const dir = tmp('sluice-sync-');
    const store = join(dir, 'store');
    const pidFile = join(dir, 'pid');
    const first = sluice(['run', ENTRY, '--export', 'holder', '--store', store, '--in-process', '--run-id', 'dead'], { SLUICE_TEST_PIDFILE: pidFile });
    for (let i = 0; i < 600 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(pidFile), 'the holder started its step').toBe(true);
    const db = new Database(join(store, 'state.db'), { readonly: true });
    const held = db.prepare(`SELECT kind, name, run_id, task_key, pid FROM locks`).all() as { pid: number }[];
    db.close();
    expect(held).toEqual([{ kind: 'mutex', name: 'shared', run_id: 'dead', task_key: 'h', pid: Number(readFileSync(pidFile, 'utf8')) }]);
    first.kill();
    expect((await first.done).signal).toBe('SIGKILL');
    const events: RunEvent[] = [];
    // bounded: a hold that is never taken over fails here instead of hanging the suite
    const r = await runPipeline(mutexed, { storeDir: store, mode: 'inprocess', signal: AbortSignal.timeout(30_000), onEvent: (e) => events.push(e) });
    expect(r.status).toBe('succeeded');
    expect(events.filter((e) => e.type === 'warning').map((e) => e.message)).toEqual([expect.stringMatching(/^took over mutex shared from run dead task h \(pid \d+ on .* is gone\)$/)]);
    void holder;
  });
});

describe('synchronization within this process', () => {
  it('a task waiting for a mutex reports task.waiting, holds no concurrency slot, and runs once the holder releases', async () => {
    const dir = tmp();
    const s = StateStore.open(join(dir, 'state.db'));
    const want = [{ kind: 'mutex' as const, name: 'shared', size: 1 }];
    expect(s.tryLocks({ runId: 'other', taskKey: 'x', holder: 'someone', now: Date.now(), want }).ok).toBe(true);
    const order: string[] = [];
    const free = fn('free', { outputs: { ok: 'boolean' } }, async () => {
      order.push('free ran');
      return { ok: true };
    });
    const locked = fn('locked', { outputs: { ok: 'boolean' } }, async () => {
      order.push('locked ran');
      return { ok: true };
    });
    const p = pipeline('waits', [free, locked], [task('locked', locked, {}, [], { synchronization: { mutexes: ['shared'] } }), task('free', free)]);
    const events: RunEvent[] = [];
    const r = await runPipeline(p, {
      storeDir: dir, mode: 'inprocess', concurrency: 1, signal: AbortSignal.timeout(30_000),
      onEvent: (e) => {
        events.push(e);
        // only once the free task is done (it needed the one slot) does the other holder let go
        if (e.type === 'task.succeeded' && e.key === 'free') s.releaseLocks('other', 'x', 'someone');
      },
    });
    s.close();
    expect(r.status).toBe('succeeded');
    expect(order).toEqual(['free ran', 'locked ran']);
    const waiting = events.find((e) => e.type === 'task.waiting');
    expect(waiting).toMatchObject({ key: 'locked', message: expect.stringMatching(/^waiting for mutex shared: held by run other task x \(pid \d+ on .*\)$/) });
  });

  it('a semaphore without a local size has size 1, with one warning naming it', async () => {
    const dir = tmp();
    const marks = join(dir, 'marks');
    process.env.SLUICE_TEST_MARKS = marks;
    process.env.SLUICE_TEST_STEP_MS = '30';
    const events: RunEvent[] = [];
    try {
      const r = await runPipeline(semaphored, { storeDir: dir, mode: 'inprocess', concurrency: 5, onEvent: (e) => events.push(e) });
      expect(r.status).toBe('succeeded');
    } finally {
      delete process.env.SLUICE_TEST_MARKS;
      delete process.env.SLUICE_TEST_STEP_MS;
    }
    expect(events.filter((e) => e.type === 'warning').map((e) => e.message)).toEqual([
      'semaphore limits/trainers has no local size (set SLUICE_SEMAPHORES=limits/trainers=<n> or .sluice/semaphores.json; Argo reads it from config map limits, key trainers); using 1',
    ]);
    expect(maxOverlap(spans(marks))).toBe(1);
  });

  it('sizes come from the semaphores option, SLUICE_SEMAPHORES or <store>/semaphores.json; bad ones are refused by name', async () => {
    const { parseSemaphoreEnv, parseSemaphoreJson } = await import('../src/engine/locks.ts');
    expect([...parseSemaphoreEnv('limits/trainers=2, limits/loaders=1')]).toEqual([['limits/trainers', 2], ['limits/loaders', 1]]);
    expect([...parseSemaphoreJson('{"limits": {"trainers": 3}, "other/k": 1}', 'f')]).toEqual([['limits/trainers', 3], ['other/k', 1]]);
    expect(() => parseSemaphoreEnv('limits/trainers=0')).toThrow('SLUICE_SEMAPHORES: semaphore limits/trainers must have a whole number size of at least 1, got "0"');
    expect(() => parseSemaphoreEnv('trainers=2')).toThrow('SLUICE_SEMAPHORES: expected <configMap>/<key>=<size>, got "trainers=2"');
    void lit;
  });

  it('--dry-run names the locks a task would take, and the run\u2019s own', () => {
    const run = (exp: string, env: Record<string, string> = {}) => spawnSync(process.execPath, [BIN, 'run', ENTRY, '--export', exp, '--dry-run', '--store', tmp()], { encoding: 'utf8', env: { ...process.env, CI: '1', ...env } });
    expect(run('mutexed').stdout).toMatch(/▶ l\[0\]\/w {2}run — .*takes mutex shared/);
    expect(run('semaphored', { SLUICE_SEMAPHORES: 'limits/trainers=2' }).stdout).toContain('takes semaphore limits/trainers (2 at a time)');
    expect(run('semaphored').stdout).toContain('warning: semaphore limits/trainers has no local size');
    expect(run('runMutex').stdout).toContain('the run holds mutex whole from start to end (shared with every run of this store)');
  });
});
