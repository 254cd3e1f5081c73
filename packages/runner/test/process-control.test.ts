import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/index.ts';
import { StateStore } from '../src/store/state.ts';
import { alive, tmp } from './helpers.ts';

const entry = join(import.meta.dirname, 'fixtures', 'steps.ts');

async function waitFor<T>(f: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('process control', () => {
  it('a timeout kills the step’s whole process tree', async () => {
    const dir = tmp();
    const pidFile = join(dir, 'pids');
    process.env.SLUICE_TEST_PIDFILE = pidFile;
    const r = await runPipeline(entry, { storeDir: dir, entry, exportName: 'timeout', graceMs: 300 });
    expect(r.status).toBe('failed');
    expect(r.tasks.h?.error).toBe('timeout: timed out after 1s; its process tree was killed');
    const [step, grandchild] = readFileSync(pidFile, 'utf8').split(' ').map(Number) as [number, number];
    await waitFor(() => (!alive(step) && !alive(grandchild) ? true : undefined), 5000);
  });

  it('SIGTERM preempts a step: it saves a last checkpoint, the attempt counts as preempted, and the retry resumes from it', async () => {
    const dir = tmp();
    const pidFile = join(dir, 'pid');
    process.env.SLUICE_TEST_PIDFILE = pidFile;
    const running = runPipeline(entry, { storeDir: dir, entry, exportName: 'preempt', graceMs: 5000 });
    const pid = await waitFor(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined));
    await new Promise((r) => setTimeout(r, 100));
    process.kill(pid, 'SIGTERM');
    const r = await running;
    expect(r.status).toBe('succeeded');
    expect(r.outputs.attempt).toBe(2);
    expect(r.outputs.resumedFrom as number).toBeGreaterThan(1000);
    const s = StateStore.open(join(dir, 'state.db'), { readonly: true });
    const attempts = s.attemptsOf(r.runId, 'p').map((a) => a.outcome);
    s.close();
    expect(attempts).toEqual(['preempted']); // attempts that did not succeed; the task row holds the rest
    expect(r.tasks.p?.attempts).toBe(2);
  });

  it('gives each GPU step its own devices through CUDA_VISIBLE_DEVICES (SLUICE_GPUS)', async () => {
    const dir = tmp();
    const old = process.env.SLUICE_GPUS;
    process.env.SLUICE_GPUS = '0,1';
    try {
      const r = await runPipeline(entry, { storeDir: dir, entry, exportName: 'gpus' });
      expect(r.status).toBe('succeeded');
      expect(new Set([r.outputs.g0, r.outputs.g1])).toEqual(new Set(['0', '1']));
      expect(r.outputs.g2).toBe('0,1');
      expect(r.outputs.c2).toBe('0,1');
      await expect(runPipeline(entry, { storeDir: dir, entry, exportName: 'tooManyGpus' })).rejects.toThrow('task big needs 4 GPUs but this machine has 2 (0,1); set SLUICE_GPUS to override detection');
    } finally {
      if (old === undefined) delete process.env.SLUICE_GPUS;
      else process.env.SLUICE_GPUS = old;
    }
  });
});
