// Killing the runner must not leave work running; a step that finishes within its grace period finished.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/store/state.ts';
import { tmp } from '../helpers.ts';
import { BIN, FIXTURES, running, sluice, until } from './sluice.ts';

/** Everything a test started, ended even when an assertion failed: runners, and step groups by the pids they wrote. */
const started: { kill(sig: NodeJS.Signals): unknown }[] = [];
const pidFiles: string[] = [];
afterAll(() => {
  for (const c of started) c.kill('SIGKILL');
  for (const f of pidFiles) for (const p of pids(f)) {
    try { process.kill(-p, 'SIGKILL'); } catch { /* not a group leader, or gone */ }
    try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  }
});

const pids = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : []);

function start(cwd: string, args: string[], env: NodeJS.ProcessEnv) {
  if (env.SLUICE_TEST_PIDS) pidFiles.push(env.SLUICE_TEST_PIDS);
  const c = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: '1', ...env }, stdio: 'ignore' });
  started.push(c);
  return c;
}

describe.each([['warm workers', []], ['fresh processes', ['--fresh-processes']]])('after kill -9 of the runner (%s)', (_name, extra) => {
  it('nothing of the step survives, and resume stops a survivor before the next attempt', async () => {
    const dir = tmp('sluice-orphans-');
    const pidFile = join(dir, 'pids');
    const env = { SLUICE_TEST_PIDS: pidFile };
    const runner = start(dir, ['run', FIXTURES, '--export', 'orphans', '--grace', '500', '--run-id', 'o1', ...extra], env);
    expect(await until(() => pids(pidFile).length >= 2, 60_000)).toBe(true);
    const [step, child] = pids(pidFile) as [number, number];
    expect(running(step) && running(child)).toBe(true);
    runner.kill('SIGKILL');
    // the watchdog in the step's process group sees the runner gone: SIGTERM, grace, SIGKILL
    expect(await until(() => !running(step) && !running(child), 15_000), `step ${step} or its child ${child} survived the runner`).toBe(true);
    // the run's driver is gone: show says so
    const show = await sluice(dir, ['show', 'o1']);
    expect(show.out).toMatch(/status {4}running — its driver \(pid \d+ on [^)]+\) is gone; continue with sluice resume o1/);
    const runs = await sluice(dir, ['runs']);
    expect(runs.out).toMatch(/o1 +orphans +running \(driver gone\)/);
    const logs = await sluice(dir, ['logs', 'o1', '-f'], {}, 30_000);
    expect(logs.code, 'logs -f ends for a run whose driver is gone').toBe(1);
    expect(logs.err).toContain('its driver is gone');
    // the store recorded the attempt's process group
    const s = StateStore.open(join(dir, '.sluice', 'state.db'), { readonly: true });
    try {
      expect(s.taskProcesses('o1').map((p) => p.pid)).toEqual([step]);
    } finally {
      s.close();
    }
  }, 120_000);
});

describe('orphans and resume', () => {
  it('resume stops an orphaned process group that outlived its runner before the task runs again', async () => {
    const dir = tmp('sluice-orphans-');
    const pidFile = join(dir, 'pids');
    // a long grace: the watchdog would wait 60 s before SIGKILL; resume must not wait for it
    const runner = start(dir, ['run', FIXTURES, '--export', 'orphans', '--grace', '60000', '--run-id', 'o2'], { SLUICE_TEST_PIDS: pidFile });
    expect(await until(() => pids(pidFile).length >= 2, 60_000)).toBe(true);
    const [step, child] = pids(pidFile) as [number, number];
    runner.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    // the step does not stop when asked (it ignores ctx.signal): its process lives through its 60 s grace period
    expect(running(step)).toBe(true);
    const resumed = spawn(process.execPath, [BIN, 'resume', 'o2', '--grace', '500'], { cwd: dir, env: { ...process.env, CI: '1', SLUICE_TEST_PIDS: pidFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(resumed);
    let out = '';
    resumed.stdout.on('data', (d: Buffer) => (out += d));
    // the new attempt starts only once the old group is gone
    expect(await until(() => pids(pidFile).length >= 4, 60_000)).toBe(true);
    expect(running(step) || running(child), 'the orphaned group still ran when the new attempt started').toBe(false);
    expect(out).toMatch(/warning.*process group \d+ from the interrupted run is still running; stopping it/);
    const [step2, child2] = pids(pidFile).slice(2) as [number, number];
    resumed.kill('SIGKILL');
    expect(await until(() => !running(step2) && !running(child2), 15_000)).toBe(true);
  }, 150_000);

  it('a step that ends with exit 0 within the SIGINT grace period is recorded succeeded, not interrupted', async () => {
    const dir = tmp('sluice-grace-');
    const pidFile = join(dir, 'pids');
    const runner = spawn(process.execPath, [BIN, 'run', FIXTURES, '--export', 'graceful', '--run-id', 'g1', '--grace', '5000'], { cwd: dir, env: { ...process.env, CI: '1', SLUICE_TEST_PIDS: pidFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(runner);
    pidFiles.push(pidFile);
    let out = '';
    runner.stdout.on('data', (d: Buffer) => (out += d));
    expect(await until(() => pids(pidFile).length >= 1, 60_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    runner.kill('SIGINT');
    const code = await new Promise<number | null>((r) => runner.on('close', r));
    expect(code).toBe(130); // the run was interrupted...
    const s = StateStore.open(join(dir, '.sluice', 'state.db'), { readonly: true });
    try {
      expect(s.getTask('g1', 'p')?.state, out).toBe('succeeded'); // ...but its step had finished
      expect(s.attemptsOf('g1', 'p').filter((a) => a.outcome === 'interrupted')).toEqual([]);
    } finally {
      s.close();
    }
    const resumed = await sluice(dir, ['resume', 'g1']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(pids(pidFile)).toHaveLength(1); // not run again
    expect(resumed.out).toMatch(/task\.resumed\s+p/);
  }, 120_000);
});

describe('Ctrl-C while the pipeline module loads', () => {
  it('a module that never finishes loading (a loop at its top level): SIGINT ends `sluice run` (our handler is armed only once the run has started)', async () => {
    const dir = tmp('sluice-busy-');
    const child = spawn(process.execPath, [BIN, 'run', join(import.meta.dirname, 'busy.ts')], { cwd: dir, env: { ...process.env, CI: '1', SLUICE_TEST_BUSY: '1' }, stdio: 'ignore' });
    started.push(child);
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    // well into the loop (the CLI's own start and the module's build take under 2 s here)
    await new Promise((r) => setTimeout(r, 4000));
    child.kill('SIGINT');
    const t0 = Date.now();
    const r = await Promise.race([ended, new Promise<'alive'>((res) => setTimeout(() => res('alive'), 10_000))]);
    expect(r, 'still running 10 s after SIGINT').not.toBe('alive');
    expect(r).toEqual({ code: null, signal: 'SIGINT' });
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 60_000);
});
