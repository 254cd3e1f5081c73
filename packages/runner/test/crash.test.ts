/**
 * The crash suite: SIGKILL the runner at many points (before, during and after step commits,
 * during a checkpoint write, and at random times), resume it, and check that the outputs are
 * right, no finished step ran twice and the store is consistent.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { contentHash } from '../src/store/cas.ts';
import { tmp } from './helpers.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.mjs');
const ENTRY = join(import.meta.dirname, 'fixtures', 'crash.ts');
const EXPECTED = '3/91/6';

function sluice(args: string[], cwd: string, env: Record<string, string>, killAfterMs?: number): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let t: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d) => {
      out += d;
      // time the kill from the moment the run exists, not from process start
      if (killAfterMs !== undefined && !t && out.includes('run.started')) t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code, signal) => {
      if (t) clearTimeout(t);
      resolve({ code, signal, out });
    });
  });
}

function marks(file: string): Map<string, number> {
  const m = new Map<string, number>();
  if (!existsSync(file)) return m;
  for (const l of readFileSync(file, 'utf8').split('\n')) if (l) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
}

/** The tag each task writes in its marks. */
function tag(key: string): string {
  const m = /^fan\[(\d)\]\/sq$/.exec(key);
  return m ? `sq[${Number(m[1]) + 1}]` : key;
}

async function scenario(name: string, mode: 'inprocess' | 'process', crash: { at?: string; afterMs?: number }) {
  const dir = tmp('sluice-crash-');
  const markFile = join(dir, 'marks');
  const env = { SLUICE_TEST_MARKS: markFile, SLUICE_TEST_STEP_MS: crash.afterMs ? '40' : '0' };
  const runId = `crash-${name.replace(/[^a-z0-9.-]+/gi, '_')}`;
  const flags = ['--store', join(dir, 'store'), ...(mode === 'inprocess' ? ['--in-process'] : []), '--concurrency', '2'];
  const first = await sluice(['run', ENTRY, '--run-id', runId, ...flags], dir, {
    ...env, ...(crash.at ? { SLUICE_CRASH_AT: crash.at } : {}), ...(crash.afterMs ? { SLUICE_TEST_GATE: join(dir, 'gate') } : {}),
  }, crash.afterMs);
  const db = join(dir, 'store', 'state.db');
  const killed = first.signal === 'SIGKILL';
  if (!killed) expect(first.code, first.out).toBe(0);
  // what was committed when the runner died
  const before = new Database(db, { readonly: true });
  const committed = (before.prepare(`SELECT key FROM tasks WHERE run_id = ? AND state = 'succeeded' AND component != ''`).all(runId) as { key: string }[]).map((r) => r.key);
  before.close();
  const marksAtKill = marks(markFile);
  if (killed) {
    const resumed = await sluice(['resume', runId, ...flags], dir, env);
    expect(resumed.code, resumed.out).toBe(0);
  }
  const after = marks(markFile);
  for (const key of committed) {
    const t = tag(key);
    expect(after.get(`end:${t}`) ?? 0, `${name}: committed task ${key} ran again after resume`).toBe(marksAtKill.get(`end:${t}`) ?? 0);
  }
  // the store is consistent
  const s = new Database(db, { readonly: true });
  expect(s.pragma('integrity_check', { simple: true })).toBe('ok');
  const run = s.prepare(`SELECT * FROM runs WHERE id = ?`).get(runId) as { status: string; outputs: string };
  expect(run.status).toBe('succeeded');
  expect(JSON.parse(run.outputs).result).toBe(EXPECTED);
  const tasks = s.prepare(`SELECT key, state FROM tasks WHERE run_id = ?`).all(runId) as { key: string; state: string }[];
  expect(tasks.filter((t) => t.state !== 'succeeded' && t.state !== 'cached'), name).toEqual([]);
  expect(tasks.filter((t) => !t.key.startsWith('fan[') || t.key.endsWith('/sq')).length).toBe(7 + 6); // c1..c3, fan, sum, ckpt, join, and 6 sq
  const running = s.prepare(`SELECT count(*) AS n FROM attempts WHERE run_id = ? AND outcome = 'running'`).get(runId) as { n: number };
  expect(running.n).toBe(0);
  for (const a of s.prepare(`SELECT hash FROM artifacts WHERE run_id = ?`).all(runId) as { hash: string }[]) {
    const p = join(dir, 'store', 'artifacts', 'sha256', a.hash.slice(0, 2), a.hash);
    expect((await contentHash(p)).hash).toBe(a.hash);
  }
  expect(s.prepare(`SELECT count(*) AS n FROM leases`).get()).toEqual({ n: 0 });
  s.close();
  // every task ran to its end exactly once, except tasks killed mid-way (at most one extra run)
  for (const t of ['c1', 'c2', 'c3', 'sum', 'ckpt', 'join', 'sq[1]', 'sq[6]']) expect(after.get(`end:${t}`) ?? 0, `${name}: ${t}`).toBeGreaterThanOrEqual(1);
  return { killed };
}

// Commits are named by what they commit (see src/util/crash.ts): with group commits the number of
// commits in a run depends on timing, but every run commits each of these writes exactly once.
// Counted points are counted where the count does not depend on timing: 12 tasks start (once
// each, no retries), and ckpt writes 6 checkpoints.
const POINTS: [string, string][] = [
  ['task.before-start', '1'], ['task.before-start', '5'], ['task.before-start', '11'],
  ['attempt.after-start', '1'], ['attempt.after-start', '7'],
  ['commit.before', '@start:c1#1'], ['commit.before', '@done:c2'], ['commit.before', '@start:fan[4]/sq#1'], ['commit.before', '@succeeded:fan'],
  ['commit.before', '@done:join'], ['commit.before', '@run'],
  ['commit.after', '@start:c1#1'], ['commit.after', '@done:fan[2]/sq'], ['commit.after', '@done:c3'], ['commit.after', '@done:join'], ['commit.after', '@run'],
  ['checkpoint.before-rename', '1'], ['checkpoint.before-rename', '4'],
];

describe('crash suite: SIGKILL the runner, resume, check', () => {
  it.each(POINTS)('in-process, killed at %s %s', async (at, n) => {
    const r = await scenario(`${at}-${n}`, 'inprocess', { at: `${at}:${n}` });
    expect(r.killed).toBe(true);
  });
  it.each([['commit.before', '@done:c2'], ['commit.after', '@start:join#1']] as [string, string][])('child processes, killed at %s %s', async (at, n) => {
    const r = await scenario(`p-${at}-${n}`, 'process', { at: `${at}:${n}` });
    expect(r.killed).toBe(true);
  });
  // join waits for a gate that only opens on resume, so the kill always lands before the run ends
  it.each([30, 120, 250])('in-process, killed %i ms after the run started', async (ms) => {
    const r = await scenario(`t${ms}`, 'inprocess', { afterMs: ms });
    expect(r.killed).toBe(true);
  });
});
