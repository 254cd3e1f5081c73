/** The warm worker pool of child-process mode: reuse, replacement, isolation, fresh processes. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/index.ts';
import { alive, tmp } from './helpers.ts';

const entry = join(import.meta.dirname, 'fixtures', 'pool.ts');

async function run(exportName: string, extra: { freshProcesses?: boolean; gpus?: string[] } = {}) {
  const dir = tmp();
  const marks = join(dir, 'marks');
  process.env.SLUICE_TEST_MARKS = marks;
  process.env.SLUICE_TEST_KEEP = 'runner env';
  try {
    const r = await runPipeline(entry, { storeDir: dir, entry, exportName, mode: 'process', gpus: extra.gpus ?? [], graceMs: 300, ...(extra.freshProcesses ? { freshProcesses: true } : {}) });
    const m = new Map((existsSync(marks) ? readFileSync(marks, 'utf8') : '').trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]).map(([k, v]) => [k, Number(v)]));
    return { r, m, dir };
  } finally {
    delete process.env.SLUICE_TEST_MARKS;
    delete process.env.SLUICE_TEST_KEEP;
  }
}

describe('warm workers (child-process mode)', () => {
  it('reuses a worker between steps, and replaces one whose step crashed (process.exit)', async () => {
    const { r, m } = await run('crashOnce');
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('succeeded');
    const crashed = m.get('exit#1') as number;
    expect(crashed).toBe(r.outputs.a); // the first step's worker ran the crashing attempt
    expect(alive(crashed)).toBe(false);
    expect(r.outputs.f).not.toBe(crashed); // the retry ran in a new worker ...
    expect(r.outputs.c).toBe(r.outputs.f); // ... which the next step reused
    expect(r.tasks.f?.attempts).toBe(2);
  });

  it('kills the process tree of a worker whose step timed out, and replaces it', async () => {
    const { r, m } = await run('hangOnce');
    expect(r.status).toBe('succeeded');
    const hung = m.get('hang#1') as number;
    expect(hung).toBe(r.outputs.a);
    expect(alive(hung)).toBe(false);
    expect(r.outputs.f).not.toBe(hung);
    expect(r.outputs.c).toBe(r.outputs.f);
  });

  it('does not charge a worker’s boot to the step’s timeout (timeoutSeconds counts from the step’s start)', async () => {
    process.env.SLUICE_TEST_BOOT_MS = '2500';
    try {
      const { r } = await run('slowBoot');
      expect(r.error).toBeUndefined();
      expect(r.status).toBe('succeeded');
      expect(r.tasks.q?.attempts).toBe(1);
    } finally {
      delete process.env.SLUICE_TEST_BOOT_MS;
    }
  });

  it('gives each step its own environment in a shared worker, and routes output to the step’s log', async () => {
    const { r, dir } = await run('env');
    expect(r.status).toBe('succeeded');
    expect(new Set([r.outputs.e1pid, r.outputs.e2pid, r.outputs.e3pid]).size).toBe(1);
    expect(JSON.parse(r.outputs.e1 as string)).toEqual({ x: 'one', leak: null, keep: 'runner env', attempt: '1' });
    expect(JSON.parse(r.outputs.e2 as string)).toEqual({ x: null, leak: null, keep: 'runner env', attempt: '1' });
    expect(JSON.parse(r.outputs.e3 as string)).toEqual({ x: 'three', leak: null, keep: 'runner env', attempt: '1' });
    for (const t of ['e1', 'e2', 'e3']) {
      const log = readFileSync(join(dir, 'runs', r.runId, 'logs', `${t}.log`), 'utf8');
      expect(log.split('\n').filter((l) => l && !l.startsWith('\u0000sluice:attempt ')).sort()).toEqual([`[info] log of ${t}`, `stderr of ${t}`, `stdout of ${t}`]);
    }
  });

  it('--fresh-processes starts a process per attempt, as an Argo pod does', async () => {
    const { r } = await run('env', { freshProcesses: true });
    expect(r.status).toBe('succeeded');
    expect(new Set([r.outputs.e1pid, r.outputs.e2pid, r.outputs.e3pid]).size).toBe(3);
    expect(JSON.parse(r.outputs.e2 as string)).toEqual({ x: null, leak: null, keep: 'runner env', attempt: '1' });
  });

  it('runs a GPU step in a fresh process (CUDA_VISIBLE_DEVICES is read once, at CUDA start)', async () => {
    const { r } = await run('gpuFresh', { gpus: ['0'] });
    expect(r.status).toBe('succeeded');
    expect(r.outputs.c).toBe(r.outputs.a);
    expect(r.outputs.g).not.toBe(r.outputs.a);
  });
});
