/**
 * The example end to end: a run killed with SIGKILL mid-training (runner and step alike) and
 * resumed with `sluice resume` continues from the last checkpoint; the GPU request is enforced.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline } from '@sluice/runner';
import gpuPipeline, { cpu } from '../pipeline.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const sluice = join(root, 'packages/runner/bin/sluice.mjs');
const entry = 'examples/checkpointed-training/pipeline.ts';
const tmp = mkdtempSync(join(tmpdir(), 'sluice-ckpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const EPOCHS = 30;
const KILL_AFTER = 8;

/** `epoch N pid P attempt A` lines the trainer appends after each checkpoint. */
function progress(file: string): { epoch: number; pid: number; attempt: number }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [, epoch, , pid, , attempt] = l.split(' ');
    return { epoch: Number(epoch), pid: Number(pid), attempt: Number(attempt) };
  });
}

describe('checkpointed-training', () => {
  it('killed after some epochs and resumed, it finishes without repeating a finished epoch', async () => {
    const store = join(tmp, 'store');
    const file = join(tmp, 'progress.txt');
    const params = ['-p', `epochs=${EPOCHS}`, '-p', 'epochDelayMs=150', '-p', `progressFile=${file}`];
    const child = spawn(process.execPath, [sluice, 'run', entry, '--export', 'cpu', '--store', store, '--run-id', 'killed', ...params], { cwd: root, detached: true, stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    const deadline = Date.now() + 60_000;
    while (progress(file).length < KILL_AFTER && Date.now() < deadline) await sleep(50);
    const before = progress(file);
    expect(before.length).toBeGreaterThanOrEqual(KILL_AFTER);
    // A crash: the runner's process group and the training step, no time to clean up.
    process.kill(-child.pid!, 'SIGKILL');
    try { process.kill(before[before.length - 1]!.pid, 'SIGKILL'); } catch { /* already gone with the group */ }
    await exited;
    const killedAt = progress(file).length;
    expect(killedAt).toBeLessThan(EPOCHS);

    const resumed = spawnSync(process.execPath, [sluice, 'resume', 'killed', '--store', store], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(resumed.status, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stdout).toContain('run killed succeeded');

    // The same parameters again: every step comes from the cache, with the resumed run's outputs.
    const r = await runPipeline(cpu, { entry, exportName: 'cpu', mode: 'process', storeDir: store, params: { epochs: EPOCHS, epochDelayMs: 150, progressFile: file } });
    expect(r.status).toBe('succeeded');
    expect(r.tasks['train-softmax']?.cachedFrom).toBe('killed/train-softmax');
    const metrics = JSON.parse(readFileSync((r.outputs['metrics'] as { path: string }).path, 'utf8')) as Record<string, number>;
    // The checkpoint is saved before the progress line is written: a kill between the two leaves
    // one more epoch in the checkpoint than in the file.
    const resumedFrom = metrics['resumedFromEpoch']!;
    expect([killedAt, killedAt + 1]).toContain(resumedFrom);
    expect(metrics['epochsRunThisAttempt']).toBe(EPOCHS - resumedFrom);
    expect(metrics['epochs']).toBe(EPOCHS);
    expect(metrics['valAccuracy']).toBeGreaterThanOrEqual(0.9);
    expect(metrics['gpus']).toBe(0);

    // No finished epoch ran again: the first process did 1..killedAt, the resumed one the rest.
    const epochs = progress(file);
    const expected = [...Array.from({ length: killedAt }, (_, i) => i + 1), ...Array.from({ length: EPOCHS - resumedFrom }, (_, i) => resumedFrom + i + 1)];
    expect(epochs.map((e) => e.epoch)).toEqual(expected);
    expect(new Set(epochs.slice(0, killedAt).map((e) => e.pid)).size).toBe(1);
    expect(epochs.slice(killedAt).every((e) => e.pid !== epochs[0]!.pid && e.attempt === 2)).toBe(true);
  });

  it('the default export asks for a GPU: refused up front on a machine without one', async () => {
    await expect(runPipeline(gpuPipeline, { mode: 'inprocess', storeDir: join(tmp, 'gpu-none'), gpus: [], params: { epochs: 2 } }))
      .rejects.toThrow('task train-softmax needs 1 GPU but this machine has 0; set SLUICE_GPUS to override detection');
  });

  it('with a GPU the step gets it (the cpu export, run above, gets none)', async () => {
    const withGpu = await runPipeline(gpuPipeline, { entry, mode: 'process', storeDir: join(tmp, 'gpu-one'), gpus: ['0'], params: { epochs: 2 } });
    expect(withGpu.error).toBeUndefined();
    expect(withGpu.status).toBe('succeeded');
    expect(JSON.parse(readFileSync((withGpu.outputs['metrics'] as { path: string }).path, 'utf8'))).toMatchObject({ gpus: 1, epochs: 2, resumedFromEpoch: 0 });
  });
});
