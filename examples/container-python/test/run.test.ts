/** The example end to end: the Python container step runs on the host's python3 without an engine. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline, type RunEvent } from '@sluice/runner';
import containerPython from '../pipeline.ts';

const entry = fileURLToPath(new URL('../pipeline.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sluice-container-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const engineAnswers = ['docker', 'podman'].some((e) => spawnSync(e, ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0);

describe('container-python', () => {
  it.skipIf(engineAnswers)('runs the python:3.12-slim step on the host python3, says so, and fits the line', async () => {
    const events: RunEvent[] = [];
    const r = await runPipeline(containerPython, { entry, mode: 'process', storeDir: join(tmp, 'store'), onEvent: (e) => events.push(e) });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('succeeded');
    expect(events.filter((e) => e.type === 'warning').map((e) => (e as { message?: string }).message)).toEqual([
      'no docker or podman engine answers: running the command of fit-line (image python:3.12-slim) on this host; use --containers=require to fail instead',
    ]);
    // Held-out R^2 from Python, as a number parameter; the Model and Metrics artifacts it wrote.
    expect(r.outputs['r2']).toBeGreaterThan(0.9);
    const model = JSON.parse(readFileSync((r.outputs['model'] as { path: string }).path, 'utf8')) as { slope: number; intercept: number };
    expect(model.slope).toBeCloseTo(1.8, 1);
    const metrics = JSON.parse(readFileSync((r.outputs['metrics'] as { path: string }).path, 'utf8')) as Record<string, number>;
    expect(metrics).toMatchObject({ trainRows: 160, testRows: 40, r2: r.outputs['r2'] });
    // The TypeScript step used the Python model: a 120 m² house at about 1.8 * 120 + 60 k€.
    expect(Math.abs((r.outputs['prediction'] as number) - 276)).toBeLessThan(10);
  });

  it.skipIf(engineAnswers)('with --containers=require and no engine, fails clearly instead', async () => {
    const r = await runPipeline(containerPython, { entry, mode: 'process', storeDir: join(tmp, 'store-require'), containers: 'require' });
    expect(r.status).toBe('failed');
    expect(r.tasks['fit-line']?.error).toContain('container component fit-line (python:3.12-slim) needs docker or podman, and neither answers on this machine (--containers=require)');
    expect(r.tasks['predict']?.state).not.toBe('succeeded');
  });
});
