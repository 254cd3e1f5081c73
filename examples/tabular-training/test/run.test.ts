/** The example end to end on the local runner: real training, real promotion decisions. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline, type RunResult } from '@sluice/runner';
import { openEmbeddedRegistry, openTrackingStore } from '@sluice/tracking';
import tabular from '../pipeline.ts';
import { resolveDataPath, split, validateCsv } from '../src/data.ts';
import { evaluate } from '../src/metrics.ts';
import { predict, type SavedModel } from '../src/models.ts';

const entry = fileURLToPath(new URL('../pipeline.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sluice-tabular-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The held-out accuracy the promoted model must reach: 45 test flowers, at most 4 wrong. */
const ACCURACY_FLOOR = 0.9;

function artifactPath(r: RunResult, name: string): string {
  const v = r.outputs[name] as { path?: string } | undefined;
  if (!v?.path) throw new Error(`output ${name} is not an artifact: ${JSON.stringify(v)}`);
  return v.path;
}

describe('tabular-training', () => {
  const store = join(tmp, 'store');
  let first: RunResult;

  it('trains the sweep, beats the accuracy floor on held-out data and promotes the best model', async () => {
    first = await runPipeline(tabular, { entry, mode: 'process', storeDir: store });
    expect(first.error).toBeUndefined();
    expect(first.status).toBe('succeeded');
    const accuracy = first.outputs['accuracy'] as number;
    expect(accuracy).toBeGreaterThanOrEqual(ACCURACY_FLOOR);
    expect(first.outputs).toMatchObject({ promoted: true, version: 1 });
    expect(first.outputs['decision']).toMatch(/^accuracy 0\.\d+ meets the bar >= 0\.9; evaluation data does not overlap training data$/);
    // Four sweep points, each trained and evaluated.
    for (let i = 0; i < 4; i++) {
      expect(first.tasks[`sweep[${i}]/train-model`]?.state).toBe('succeeded');
      expect(first.tasks[`sweep[${i}]/evaluate-model`]?.state).toBe('succeeded');
    }
    // The registry: version 1 of "iris" holds "champion", traceable to this run, its data and its commit.
    const reg = await openEmbeddedRegistry(store);
    const champion = await reg.byAlias('iris', 'champion');
    reg.close();
    expect(champion).toMatchObject({ version: 1, runId: first.runId, taskKey: 'promote', metrics: { accuracy }, aliases: ['champion'] });
    expect(champion?.trainData).toHaveLength(1);
    expect(champion?.evalData).toHaveLength(1);
    expect(champion?.trainData[0]).not.toBe(champion?.evalData[0]);
    const modelPath = artifactPath(first, 'model');
    expect(champion?.artifactHash).toBe(createHash('sha256').update(readFileSync(modelPath)).digest('hex'));
    // every sweep point's hyperparameters are params of its train task
    const t = await openTrackingStore(store, { readonly: true });
    expect(t.params(first.runId).filter((p) => p.taskKey === 'sweep[3]/train-model').map((p) => `${p.name}=${p.value}`)).toEqual(['kind=logistic-regression', 'learningRate=0.05', 'steps=1500']);
    t.close();
    // The promoted model, scored again here on the same held-out rows (seed 1, 30%).
    const v = validateCsv(readFileSync(resolveDataPath('data/iris.csv'), 'utf8'));
    if (!v.ok) throw new Error('iris.csv is invalid');
    const { test } = split(v.rows, 0.3, 1);
    const saved = JSON.parse(readFileSync(modelPath, 'utf8')) as SavedModel;
    const rescored = evaluate(test.map((r) => r.label), predict(saved, test.map((r) => r.features)), 3).accuracy;
    expect(rescored).toBe(accuracy);
    expect(rescored).toBeGreaterThanOrEqual(ACCURACY_FLOOR);
  });

  it('reports every sweep point and writes the winner\'s Metrics with a confusion matrix over the 45 held-out rows', () => {
    const sweep = first.outputs['sweep'] as { name: string; accuracy: number }[];
    expect(sweep.map((s) => s.name)).toEqual([
      'random-forest(n=10,depth=2)', 'random-forest(n=40,depth=5)', 'logistic-regression(lr=0.005,steps=300)', 'logistic-regression(lr=0.05,steps=1500)',
    ]);
    for (const s of sweep) expect(s.accuracy, s.name).toBeGreaterThanOrEqual(0.85);
    expect(Math.max(...sweep.map((s) => s.accuracy))).toBe(first.outputs['accuracy']);
    const doc = JSON.parse(readFileSync(artifactPath(first, 'metrics'), 'utf8')) as { model: string; accuracy: number; confusionMatrix: { labels: string[]; matrix: number[][] } };
    expect(doc.model).toBe(first.outputs['name']);
    expect(doc.confusionMatrix.labels).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(doc.confusionMatrix.matrix.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([15, 15, 15]);
    expect(doc.accuracy).toBeCloseTo(doc.confusionMatrix.matrix.reduce((s, row, i) => s + row[i]!, 0) / 45, 10);
    expect(doc.accuracy).toBe(first.outputs['accuracy']);
  });

  it('a second run is served from the cache and keeps the champion: the gate refuses an equal model, saying why', async () => {
    const second = await runPipeline(tabular, { entry, mode: 'process', storeDir: store });
    expect(second.status).toBe('succeeded');
    for (const t of ['validate-data', 'split-data', 'sweep[0]/train-model', 'sweep[3]/evaluate-model', 'pick-best']) {
      expect(second.tasks[t]?.cachedFrom, t).toBeDefined();
    }
    expect(second.tasks['promote']?.cachedFrom).toBeUndefined();
    const a = first.outputs['accuracy'] as number;
    expect(second.outputs).toMatchObject({ promoted: false, version: 1 }); // the same artifact: the same version
    expect(second.outputs['decision']).toBe(`version 1 already holds "champion"`);
    const reg = await openEmbeddedRegistry(store);
    expect((await reg.byAlias('iris', 'champion'))?.version).toBe(1);
    reg.close();
    const t = await openTrackingStore(store, { readonly: true });
    expect(t.decisions('iris').map((d) => [d.challenger, d.holder, d.passed])).toEqual([[1, null, true], [1, 1, false]]);
    t.close();
    void a;
  });

  it('a bar above what the models reach is refused with the reason, and the champion stays', async () => {
    const r = await runPipeline(tabular, { entry, mode: 'process', storeDir: store, params: { minAccuracy: 1, seed: 2 } });
    expect(r.status).toBe('succeeded');
    expect(r.outputs['promoted']).toBe(false);
    expect(r.outputs['decision']).toMatch(/^accuracy 0\.\d+ does not meet the bar >= 1/);
    const reg = await openEmbeddedRegistry(store);
    expect((await reg.byAlias('iris', 'champion'))?.version).toBe(1);
    reg.close();
  });

  it('bad rows fail the run at validation, once, naming each bad line', async () => {
    const lines = readFileSync(fileURLToPath(new URL('../data/iris.csv', import.meta.url)), 'utf8').trimEnd().split('\n');
    lines[3] = '5.1,abc,1.4,0.2,setosa';
    lines[60] = '5.1,3.5,1.4,0.2,tulip';
    const bad = join(tmp, 'bad.csv');
    writeFileSync(bad, `${lines.join('\n')}\n`);
    const r = await runPipeline(tabular, { entry, mode: 'process', storeDir: store, params: { source: bad } });
    expect(r.status).toBe('failed');
    expect(r.tasks['validate-data']).toMatchObject({ state: 'failed', attempts: 1 });
    expect(r.tasks['validate-data']?.error).toContain('line 4, sepal_width: not a number');
    expect(r.tasks['validate-data']?.error).toContain('line 61, species: unknown species "tulip"');
    expect(r.tasks['split-data']?.state).not.toBe('succeeded');
  });
});
