import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/index.ts';
import { tmp } from './helpers.ts';

const entry = join(import.meta.dirname, 'fixtures', 'basic.ts');

describe('child-process steps', () => {
  it('runs every step in its own process through sluice exec', async () => {
    const dir = tmp();
    const { default: p } = await import('./fixtures/basic.ts');
    const r = await runPipeline(p, { storeDir: dir, entry, mode: 'process', params: { x: 4 } });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('succeeded');
    expect(r.outputs.two).toBe(6);
    expect(r.outputs.pid).not.toBe(process.pid);
    expect(readFileSync((r.outputs.data as { path: string }).path, 'utf8')).toBe('hi');
  });

  it('survives process.exit in a step (a system error) and reports throw and NonRetryableError', async () => {
    const { default: p } = await import('./fixtures/basic.ts');
    for (const how of ['exit', 'throw', 'nonretryable']) {
      const dir = tmp();
      const r = await runPipeline(p, { storeDir: dir, entry, mode: 'process', params: { how } });
      expect(r.status).toBe('failed');
      const e = r.tasks.b?.error ?? '';
      if (how === 'exit') expect(e).toMatch(/error: .*exited with code 7/);
      if (how === 'throw') expect(e).toBe('boom');
      if (how === 'nonretryable') expect(e).toMatch(/nonretryable: give up/);
    }
  });

  it('classifies an out-of-memory step as a system error, and the runner carries on', async () => {
    const { default: p } = await import('./fixtures/basic.ts');
    const old = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = '--max-old-space-size=48';
    try {
      const r = await runPipeline(p, { storeDir: tmp(), entry, mode: 'process', params: { how: 'oom' } });
      expect(r.status).toBe('failed');
      expect(r.tasks.b?.error).toMatch(/^error: out of memory/);
      expect(r.tasks.one?.state).toMatch(/succeeded|omitted/);
    } finally {
      if (old === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = old;
    }
  });
});
