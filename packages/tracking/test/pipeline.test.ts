/**
 * Tracking through a real local run (child processes and in-process): stepped metrics, params and
 * tags land in the store, promote() registers and gates, and the CLI shows it (metrics with a
 * sparkline, compare with differences marked, models show, rollback).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, runPipeline } from '@sluice/runner';
import { openEmbeddedRegistry, openTrackingStore } from '../src/index.ts';

const entry = join(import.meta.dirname, 'fixtures', 'promote-pipeline.ts');
const bin = join(import.meta.dirname, '..', '..', 'runner', 'bin', 'sluice.mjs');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'sluice-trk-'));
  dirs.push(d);
  return d;
};
const sluice = (store: string, ...args: string[]) => spawnSync(process.execPath, [bin, ...args, '--store', store], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

describe.each(['process', 'inprocess'] as const)('tracking in a local run (%s)', (mode) => {
  it('keeps every metric step, gates promotions, and the CLI shows and rolls them back', async () => {
    const store = tmp();
    const run = (accuracy: number, epochs = 5) => runPipeline(entry, { storeDir: store, entry, mode, params: { accuracy, epochs } });
    const r1 = await run(0.93, 40);
    expect(r1.status).toBe('succeeded');
    expect(r1.outputs).toMatchObject({ promoted: true, version: 1 });
    const r2 = await run(0.91);
    expect(r2.outputs).toMatchObject({ promoted: false, version: 2, reason: 'accuracy 0.91 vs 0.93 of version 1: worse by 0.02' });
    const r3 = await run(0.97);
    expect(r3.outputs).toMatchObject({ promoted: true, version: 3 });

    const t = await openTrackingStore(store, { readonly: true });
    const loss = t.metrics(r1.runId, 'train').filter((m) => m.name === 'loss');
    expect(loss.map((m) => m.step)).toEqual([...Array(40).keys()]);
    expect(t.metrics(r1.runId, 'train').find((m) => m.name === 'accuracy')?.value).toBe(0.93); // Metrics.log is a metric too
    expect(t.params(r1.runId)).toEqual([{ taskKey: 'train', name: 'epochs', value: '40' }]);
    t.close();

    const reg = await openEmbeddedRegistry(store);
    const champ = await reg.byAlias('toy', 'champion');
    expect(champ).toMatchObject({ version: 3, runId: r3.runId, taskKey: 'promote', metrics: { accuracy: 0.97 } });
    expect(champ?.trainData).toHaveLength(1);
    expect(champ?.evalData).toHaveLength(1);
    expect(champ?.trainData[0]).not.toBe(champ?.evalData[0]);
    reg.close();

    // the typed read API for scripts and notebooks: the same data
    const client = openStore(store);
    expect((await client.runs.metrics(r1.runId, 'train')).filter((x) => x.name === 'loss')).toHaveLength(40);
    expect((await client.models.get('toy', 'champion'))?.version).toBe(3);
    expect((await client.models.get('toy', 2))?.metrics).toEqual({ accuracy: 0.91 });
    expect((await client.models.versions('toy')).map((v) => v.version)).toEqual([1, 2, 3]);
    client.close();

    const m = sluice(store, 'metrics', r1.runId);
    expect(m.status).toBe(0);
    expect(m.stdout).toMatch(/train\s+loss\s+0\.025\s+0\.025\s+1\s+40\s+█[▇▆▅▄▃▂▁]+▁/);
    const c = sluice(store, 'compare', r1.runId, r2.runId);
    expect(c.status).toBe(0);
    expect(c.stdout).toMatch(/\* accuracy\s+0\.93\s+0\.91/);
    expect(c.stdout).toMatch(/\* train\/accuracy\s+0\.93\s+0\.91/);
    expect(c.stdout).toMatch(/ {2}rows\s+20\s+20/);
    const show = sluice(store, 'models', 'show', 'toy');
    expect(show.stdout).toMatch(/^3\s+champion\s+accuracy=0\.97/m);
    expect(show.stdout).toMatch(/v2\s+v1\s+refused\s+accuracy 0.91 vs 0.93 of version 1: worse by 0.02/);
    const rb = sluice(store, 'models', 'rollback', 'toy', '--alias', 'champion');
    expect(rb.stdout).toBe('toy: "champion" rolled back from version 3 to version 1\n');
    expect(JSON.parse(sluice(store, 'models', 'list', '--json').stdout)).toEqual([{ name: 'toy', versions: 3, createdAt: expect.any(Number), aliases: [{ alias: 'champion', version: 1 }] }]);
    const bad = sluice(store, 'models', 'rollback', 'nope');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('sluice: no version of "nope" holds "champion": nothing to roll back\n');
  }, 180_000);
});

describe('sluice cat', () => {
  it('prints a text artifact by run/task/output and refuses an unknown one', async () => {
    const store = tmp();
    const r = await runPipeline(entry, { storeDir: store, entry, mode: 'inprocess', params: { accuracy: 0.95 } });
    expect(execFileSync(process.execPath, [bin, 'cat', `${r.runId}/train/model`, '--store', store], { encoding: 'utf8' })).toBe('{\n  "accuracy": 0.95\n}');
    const bad = sluice(store, 'cat', `${r.runId}/train/nothing`);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(`sluice: run ${r.runId} has no artifact train/nothing\n`);
  }, 120_000);
});
