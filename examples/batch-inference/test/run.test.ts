/** The example end to end on the local runner: partitions, fan-in, one result, cache on re-run. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline, type RunResult } from '@sluice/runner';
import batch from '../pipeline.ts';

const entry = fileURLToPath(new URL('../pipeline.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sluice-batch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function artifactPath(r: RunResult, name: string): string {
  const v = r.outputs[name] as { path?: string } | undefined;
  if (!v?.path) throw new Error(`output ${name} is not an artifact: ${JSON.stringify(v)}`);
  return v.path;
}

describe('batch-inference', () => {
  const store = join(tmp, 'store');
  const params = { rows: 12_345, partitions: 6 };
  let first: RunResult;

  it('scores every row once, in partitions, into one file', async () => {
    first = await runPipeline(batch, { entry, mode: 'process', storeDir: store, params });
    expect(first.error).toBeUndefined();
    expect(first.status).toBe('succeeded');
    expect(first.outputs['rows']).toBe(12_345);
    for (let i = 0; i < 6; i++) expect(first.tasks[`partitions[${i}]/score-partition`]?.state).toBe('succeeded');
    expect(first.tasks['partitions[6]/score-partition']).toBeUndefined();
    const lines = readFileSync(artifactPath(first, 'predictions'), 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('id,predicted,confidence,label');
    expect(lines).toHaveLength(12_346);
    expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual(Array.from({ length: 12_345 }, (_, i) => i));
    const metrics = JSON.parse(readFileSync(artifactPath(first, 'metrics'), 'utf8')) as Record<string, number>;
    expect(metrics).toMatchObject({ rows: 12_345, partitions: 6 });
    // Synthetic flowers drawn per species: the scorer should recover the species for most of them.
    expect(metrics['agreement']).toBeGreaterThan(0.9);
  });

  it('a re-run with the same inputs is served from the cache, same bytes', async () => {
    const again = await runPipeline(batch, { entry, mode: 'process', storeDir: store, params });
    expect(again.status).toBe('succeeded');
    // Every step (the loop node aside): cached, no attempt made.
    const steps = Object.entries(again.tasks).filter(([key]) => key !== 'partitions');
    expect(steps.map(([key]) => key).sort()).toEqual([
      'fit-scorer', 'make-batch', 'merge-predictions', 'partitions[0]/score-partition', 'partitions[1]/score-partition', 'partitions[2]/score-partition',
      'partitions[3]/score-partition', 'partitions[4]/score-partition', 'partitions[5]/score-partition', 'plan-partitions',
    ]);
    for (const [key, t] of steps) {
      expect(t, key).toMatchObject({ state: 'cached', attempts: 0 });
      expect(t.cachedFrom, key).toBe(`${first.runId}/${key}`);
    }
    expect(again.outputs['rows']).toBe(12_345);
    expect(artifactPath(again, 'predictions')).toBe(artifactPath(first, 'predictions'));
  });
});
