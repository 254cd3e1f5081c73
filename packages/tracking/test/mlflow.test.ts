/**
 * Against a real MLflow tracking server: what Sluice logs is there (runs, nesting, params, every
 * metric step, tags, model versions, aliases after promote and rollback), a server killed mid-run
 * loses nothing, and a repeated sync logs nothing twice. Checked through MLflow's own REST API.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runPipeline } from '@sluice/runner';
import { MlflowRegistry, openTrackingStore, syncRun, type RunInfo } from '../src/index.ts';
import { useMlflow } from './support/use-mlflow.ts';

const ml = useMlflow('MLflow suites', { prefix: 'sluice-mlf-', timeoutMs: 5000 });

function info(runId: string, status: RunInfo['status'] = 'succeeded'): RunInfo {
  return {
    runId, pipeline: 'iris-tracking', status, startedAt: 1_700_000_000_000, finishedAt: 1_700_000_060_000, params: { lr: 0.1, model: 'rf' },
    gitCommit: 'abc123', gitDirty: false, irHash: 'irhash', dataHashes: ['sha256:d1'],
    tasks: [{ key: 'train', state: 'succeeded', startedAt: 1_700_000_001_000, finishedAt: 1_700_000_050_000, artifacts: [{ output: 'model', hash: 'sha256:m', uri: 'file:///m' }] }, { key: 'eval', state: 'succeeded' }],
  };
}

ml.suite('MLflow tracking', () => {
  it('logs a run as an MLflow run with nested task runs, params, tags and every metric step', async () => {
    const t = await openTrackingStore(ml.tmp());
    const runId = `r-${Date.now()}`;
    t.ingest(runId, 'train', 1, [
      ...Array.from({ length: 1500 }, (_, i) => ({ kind: 'metric' as const, name: 'loss', value: 1 / (i + 1), step: i, time: 1_700_000_002_000 + i })),
      { kind: 'param', name: 'epochs', value: '1500' }, { kind: 'tag', name: 'stage', value: 'dev' },
    ]);
    const sent = await syncRun(t, ml.client, info(runId));
    expect(sent.metrics).toBe(1500);

    const exp = (await ml.client.getExperimentByName('iris-tracking')) as string;
    const runs = await ml.client.searchRuns([exp], `tags.\`sluice.run_id\` = '${runId}'`);
    expect(runs).toHaveLength(3); // parent + train + eval
    const tag = (r: (typeof runs)[number], k: string) => r.data.tags?.find((x) => x.key === k)?.value;
    const parent = runs.find((r) => tag(r, 'sluice.task_key') === '') as (typeof runs)[number];
    const train = runs.find((r) => tag(r, 'sluice.task_key') === 'train') as (typeof runs)[number];
    expect(tag(train, 'mlflow.parentRunId')).toBe(parent.info.run_id);
    expect(tag(parent, 'sluice.git_commit')).toBe('abc123');
    expect(tag(parent, 'sluice.git_dirty')).toBe('false');
    expect(tag(parent, 'sluice.ir_hash')).toBe('irhash');
    expect(tag(parent, 'sluice.data_hashes')).toBe('["sha256:d1"]');
    expect(parent.data.params).toEqual(expect.arrayContaining([{ key: 'lr', value: '0.1' }, { key: 'model', value: 'rf' }]));
    expect(train.data.params).toEqual([{ key: 'epochs', value: '1500' }]);
    expect(tag(train, 'stage')).toBe('dev');
    expect(tag(train, 'sluice.artifact.model.hash')).toBe('sha256:m');
    expect(parent.info.status).toBe('FINISHED');
    const history = await ml.client.metricHistory(train.info.run_id, 'loss');
    expect(history.map((m) => m.step).sort((a, b) => a - b)).toEqual([...Array(1500).keys()]);

    // again: nothing new, nothing twice
    await syncRun(t, ml.client, info(runId));
    expect(await ml.client.metricHistory(train.info.run_id, 'loss')).toHaveLength(1500);
    expect(await ml.client.searchRuns([exp], `tags.\`sluice.run_id\` = '${runId}'`)).toHaveLength(3);
    t.close();
  });

  it('a server killed mid-run: the sync fails, the run is pending, and the next flush sends everything once', async () => {
    const t = await openTrackingStore(ml.tmp());
    const runId = `k-${Date.now()}`;
    t.ingest(runId, 'train', 1, Array.from({ length: 10 }, (_, i) => ({ kind: 'metric' as const, name: 'acc', value: i / 10, step: i, time: 1_700_000_100_000 + i })));
    await syncRun(t, ml.client, info(runId, 'running'));
    await ml.server.kill();
    t.ingest(runId, 'train', 1, Array.from({ length: 10 }, (_, i) => ({ kind: 'metric' as const, name: 'acc', value: 1 + i / 10, step: 10 + i, time: 1_700_000_200_000 + i })));
    await expect(syncRun(t, ml.client, info(runId))).rejects.toThrow(/not reachable/);
    expect(t.pending(ml.client.uri).map((p) => p.runId)).toEqual([runId]);
    await ml.server.restart();
    await syncRun(t, ml.client, info(runId));
    expect(t.pending(ml.client.uri)).toEqual([]);
    const exp = (await ml.client.getExperimentByName('iris-tracking')) as string;
    const train = (await ml.client.searchRuns([exp], `tags.\`sluice.run_id\` = '${runId}' and tags.\`sluice.task_key\` = 'train'`))[0];
    const h = await ml.client.metricHistory(train?.info.run_id as string, 'acc');
    expect(h.map((m) => m.step).sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    t.close();
  }, 240_000);

  it('registers versions, moves the champion alias only through the gate, and rolls back', async () => {
    const r = new MlflowRegistry(ml.client, () => 'iris-registry');
    const name = `iris-${Date.now()}`;
    const ver = (n: number, accuracy: number) => r.register({ name, runId: `reg-${name}`, taskKey: `promote-${n}`, artifactHash: `sha256:h${n}`, artifactUri: `s3://b/m${n}`, gitCommit: 'c0ffee', metrics: { accuracy }, trainData: ['t'], evalData: ['e'] });
    const gate = { metric: 'accuracy', min: 0.9 };
    const v1 = await ver(1, 0.93);
    expect((await ver(1, 0.93)).version).toBe(v1.version); // idempotent
    expect((await r.promote({ name, alias: 'champion', challenger: v1, gate })).promoted).toBe(true);
    const v2 = await ver(2, 0.92);
    const p2 = await r.promote({ name, alias: 'champion', challenger: v2, gate });
    expect(p2.promoted).toBe(false);
    expect(p2.decision.reasons).toEqual(['accuracy 0.92 vs 0.93 of version 1: worse by 0.01']);
    const v3 = await ver(3, 0.96);
    expect((await r.promote({ name, alias: 'champion', challenger: v3, gate })).promoted).toBe(true);
    expect((await ml.client.getByAlias(name, 'champion'))?.version).toBe(String(v3.version));
    const got = await r.byAlias(name, 'champion');
    expect(got).toMatchObject({ version: v3.version, artifactHash: 'sha256:h3', gitCommit: 'c0ffee', metrics: { accuracy: 0.96 }, aliases: ['champion'] });
    expect(await r.rollback(name, 'champion')).toEqual({ from: v3.version, to: v1.version });
    expect((await ml.client.getByAlias(name, 'champion'))?.version).toBe(String(v1.version));
  });

  it('a local run with SLUICE_TRACKING_URI lands in MLflow; a server that is down warns, keeps the run pending, and the next run sends it once', async () => {
    const entry = join(import.meta.dirname, 'fixtures', 'promote-pipeline.ts');
    const store = ml.tmp();
    process.env.SLUICE_TRACKING_URI = ml.server.uri;
    process.env.SLUICE_TRACKING_EXPERIMENT = `e2e-${Date.now()}`;
    try {
      const r1 = await runPipeline(entry, { storeDir: store, entry, mode: 'process', params: { accuracy: 0.95, epochs: 6 } });
      expect(r1.outputs).toMatchObject({ promoted: true, version: 1 });
      const exp = (await ml.client.getExperimentByName(process.env.SLUICE_TRACKING_EXPERIMENT)) as string;
      const runs = await ml.client.searchRuns([exp], `tags.\`sluice.run_id\` = '${r1.runId}'`);
      expect(runs.map((r) => r.data.tags?.find((t) => t.key === 'sluice.task_key')?.value).sort()).toEqual(['', 'promote', 'split', 'train']);
      const train = runs.find((r) => r.data.tags?.some((t) => t.key === 'sluice.task_key' && t.value === 'train'));
      expect((await ml.client.metricHistory(train?.info.run_id as string, 'loss')).map((m) => m.step).sort()).toEqual([0, 1, 2, 3, 4, 5]);
      expect((await ml.client.getByAlias('toy', 'champion'))?.version).toBe('1');

      await ml.server.kill();
      const events: string[] = [];
      const r2 = await runPipeline(entry, { storeDir: store, entry, exportName: 'trainOnly', mode: 'process', params: { accuracy: 0.9, epochs: 4 }, onEvent: (e) => { if (e.type === 'warning') events.push(e.message ?? ''); } });
      expect(r2.status).toBe('succeeded');
      expect(events.some((m) => m.startsWith(`tracking: could not send run ${r2.runId} to MLflow`))).toBe(true);
      const t = await openTrackingStore(store, { readonly: true });
      expect(t.pending().map((p) => p.runId)).toEqual([r2.runId]);
      t.close();

      await ml.server.restart();
      const r3 = await runPipeline(entry, { storeDir: store, entry, exportName: 'trainOnly', mode: 'process', params: { accuracy: 0.91, epochs: 3 } });
      expect(r3.status).toBe('succeeded');
      const t2 = await openTrackingStore(store, { readonly: true });
      expect(t2.pending()).toEqual([]);
      t2.close();
      const e2 = (await ml.client.getExperimentByName(process.env.SLUICE_TRACKING_EXPERIMENT)) as string;
      const r2train = (await ml.client.searchRuns([e2], `tags.\`sluice.run_id\` = '${r2.runId}' and tags.\`sluice.task_key\` = 'train'`))[0];
      expect((await ml.client.metricHistory(r2train?.info.run_id as string, 'loss')).length).toBe(4);
    } finally {
      delete process.env.SLUICE_TRACKING_URI;
      delete process.env.SLUICE_TRACKING_EXPERIMENT;
    }
  }, 300_000);

  it('in a pod (sluice exec with flags, no local runner) a step sends its metrics to MLflow itself', async () => {
    const root = join(import.meta.dirname, '..', '..', '..');
    const entry = join(import.meta.dirname, 'fixtures', 'promote-pipeline.ts');
    // the component hash a pod is given is the one `sluice compile` writes (the loader both share)
    const compiled = spawnSync(process.execPath, [join(root, 'packages', 'runner', 'bin', 'sluice.mjs'), 'compile', entry, '--export', 'trainOnly', '--format', 'ir'], { encoding: 'utf8', cwd: join(import.meta.dirname, '..') });
    expect(compiled.status, compiled.stderr).toBe(0);
    const components = (JSON.parse(compiled.stdout) as { components: Record<string, { name: string }> }).components;
    const hash = Object.entries(components).find(([, c]) => c.name === 'train')?.[0];
    expect(hash, compiled.stderr).toMatch(/^[0-9a-f]{16}$/);
    const dir = ml.tmp();
    writeFileSync(join(dir, 'train.csv'), '1,2\n');
    writeFileSync(join(dir, 'test.csv'), '3,4\n');
    const experiment = `pod-${Date.now()}`;
    const r = spawnSync(process.execPath, [join(root, 'packages', 'runner', 'bin', 'sluice.mjs'), 'exec', '--entry', entry, '--export', 'trainOnly', '--component', hash as string, '--task', 'train', '--run-id', 'wf-uid-123',
      '--param', 'accuracy=0.9', '--param', 'epochs=7', '--artifact', `data=${join(dir, 'train.csv')}`, '--artifact', `evalData=${join(dir, 'test.csv')}`, '--outputs', join(dir, 'out')], { encoding: 'utf8', env: { ...process.env, SLUICE_TRACKING_URI: ml.server.uri, SLUICE_TRACKING_EXPERIMENT: experiment } });
    expect(r.status, r.stderr).toBe(0);
    const exp = (await ml.client.getExperimentByName(experiment)) as string;
    const runs = await ml.client.searchRuns([exp], "tags.`sluice.run_id` = 'wf-uid-123' and tags.`sluice.task_key` = 'train'");
    expect(runs).toHaveLength(1);
    expect((await ml.client.metricHistory(runs[0]?.info.run_id as string, 'loss')).map((m) => m.step).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(runs[0]?.data.params).toEqual([{ key: 'epochs', value: '7' }]);
  }, 120_000);
});
