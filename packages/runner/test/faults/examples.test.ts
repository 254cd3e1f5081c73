// Every example runs in every mode: in this process, in warm workers, and a process per attempt.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/index.ts';
import { tmp } from '../helpers.ts';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', '..', 'examples');

const cases: { name: string; exportName?: string; params: (dir: string) => Record<string, unknown> }[] = [
  { name: 'tabular-training', params: () => ({}) },
  { name: 'batch-inference', params: () => ({ rows: 2000, partitions: 3 }) },
  { name: 'checkpointed-training', exportName: 'cpu', params: (dir) => ({ epochs: 2, epochDelayMs: 10, progressFile: join(dir, 'progress') }) },
  { name: 'container-python', params: () => ({}) },
];
const modes = [
  ['in-process', { mode: 'inprocess' as const }],
  ['process', { mode: 'process' as const }],
  ['fresh-processes', { mode: 'process' as const, freshProcesses: true }],
] as const;

describe.each(cases)('example $name', (c) => {
  it.each(modes)('runs %s', async (_m, mode) => {
    const entry = join(EXAMPLES, c.name, 'pipeline.ts');
    expect(existsSync(entry)).toBe(true);
    const dir = tmp(`sluice-ex-${c.name}-`);
    const r = await runPipeline(entry, { entry, ...(c.exportName ? { exportName: c.exportName } : {}), ...mode, storeDir: join(dir, 'store'), containers: 'auto', params: c.params(dir), gitDir: dir });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('succeeded');
    expect(Object.values(r.tasks).filter((t) => t.state === 'failed')).toEqual([]);
  }, 240_000);
});
