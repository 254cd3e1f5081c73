/** `sluice stop` and `sluice retry` through the real binary, over the local backend. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ENTRY = join(import.meta.dirname, 'fixtures', 'views.ts');
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'sluice.mjs');
const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, CI: '1', SLUICE_STORE: '', ...extra });

function sluice(cwd: string, extra: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: env(extra), timeout: 90_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Shown { id: string; status: string; tasks: { key: string; state: string; attempts: unknown[] }[] }
const show = (dir: string) => JSON.parse(sluice(dir, {}, 'show', 'latest', '--json').out) as Shown;

describe('sluice stop and retry', () => {
  it('stop asks the driving process to stop: the run ends interrupted (exit 130), and a second stop says it is not running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-stop-'));
    const child = spawn(process.execPath, [BIN, 'run', ENTRY, '--export', 'slow', '--grace', '2000'], { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!out.includes('task.started')) {
      if (Date.now() > deadline) throw new Error(`the run did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const stop = sluice(dir, {}, 'stop', 'latest');
    expect(stop.code, stop.err).toBe(0);
    expect(stop.out).toMatch(/^asked pid \d+ to stop run slow-/);
    expect(await exited).toBe(130);
    expect(show(dir).status).toBe('interrupted');
    expect(sluice(dir, {}, 'stop', 'latest').out).toContain('is not running (interrupted)');
  }, 120_000);

  it('retry runs the failed task of a failed run again and keeps what succeeded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-retry-'));
    const first = sluice(dir, { SLUICE_TEST_FAIL: '1' }, 'run', ENTRY, '--export', 'fixable');
    expect(first.code).toBe(1);
    expect(show(dir).status).toBe('failed');
    const again = sluice(dir, {}, 'retry', 'latest');
    expect(again.code, again.out + again.err).toBe(0);
    const s = show(dir);
    expect(s.status).toBe('succeeded');
    expect(s.tasks.find((t) => t.key === 'gate')?.attempts.length).toBe(2);
    expect(s.tasks.find((t) => t.key === 'seed')?.attempts.length).toBe(1);
    const twice = sluice(dir, {}, 'retry', 'latest');
    expect(twice.code).toBe(2);
    expect(twice.err).toContain('succeeded: nothing to retry');
  }, 120_000);
});
