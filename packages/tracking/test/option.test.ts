/**
 * Against a real MLflow server (with its artifact proxy): tracking configured by the pipeline's
 * option alone, artifacts copied on request (downloaded back through MLflow's API and compared by
 * hash), a re-sync that uploads nothing, a server killed mid-upload that loses and duplicates
 * nothing, required tracking refused before anything runs, and a pod (`sluice exec` with the
 * environment the compiler emitted) doing the same as a local run.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parse } from 'yaml';
import { runPipeline, StateStore, storePaths } from '@sluice/runner';
import { artifactHash, copiedTag, MlflowClient, openTrackingStore, syncRun, type RunInfo } from '../src/index.ts';
import { runInfo } from '../../runner/src/tracking.ts';
import { ArtifactStore, contentHash } from '../../runner/src/store/cas.ts';
import { freePort } from './support/mlflow-server.ts';
import { useMlflow } from './support/use-mlflow.ts';
import { bytes } from './fixtures/option-pipeline.ts';

const ml = useMlflow('MLflow option/artifact suites', { prefix: 'sluice-mlopt-', timeoutMs: 10_000 });

const root = join(import.meta.dirname, '..', '..', '..');
const sluice = join(root, 'packages', 'runner', 'bin', 'sluice.mjs');
const entry = join(import.meta.dirname, 'fixtures', 'option-pipeline.ts');
const TRACKING_VARS = ['SLUICE_TRACKING_URI', 'MLFLOW_TRACKING_URI', 'MLFLOW_TRACKING_TOKEN', 'SLUICE_TRACKING_EXPERIMENT', 'SLUICE_TRACKING_REQUIRED', 'SLUICE_TRACKING_ARTIFACTS'];
const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const k of TRACKING_VARS) delete e[k];
  return { ...e, ...extra };
};
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Runs `fn` with the tracking variables unset and `OPTION_TEST_*` set (the fixture reads them into its option). */
async function withOptionEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const k of TRACKING_VARS) delete process.env[k];
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

async function taskRun(experiment: string, runId: string, task: string) {
  const exp = (await ml.client.getExperimentByName(experiment)) as string;
  expect(exp, `experiment ${experiment}`).toBeTruthy();
  const runs = await ml.client.searchRuns([exp], `tags.\`sluice.run_id\` = '${runId}' and tags.\`sluice.task_key\` = '${task}'`);
  expect(runs).toHaveLength(1);
  return runs[0] as (typeof runs)[number];
}

/** Every file under a directory of the server's artifact destination, with inode and mtime (hidden staging files excluded, as MLflow lists them). */
function serverFiles(dir: string): Map<string, { ino: number; mtimeMs: number; size: number }> {
  const out = new Map<string, { ino: number; mtimeMs: number; size: number }>();
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else if (!e.name.startsWith('.')) {
        const st = statSync(join(d, e.name));
        out.set(`${rel}${e.name}`, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size });
      }
    }
  };
  walk(dir, '');
  return out;
}

ml.suite('tracking from the pipeline option, artifacts copied to MLflow', () => {
  let localRun: { runId: string; store: string; experiment: string; modelHash: string };

  it('the option alone (no tracking variable set) sends the run and copies the Model artifacts; bytes read back through MLflow match', async () => {
    const store = ml.tmp();
    const experiment = `opt-${Date.now()}`;
    const size = 300_000;
    const r = await withOptionEnv({ OPTION_TEST_URI: ml.server.uri, OPTION_TEST_EXPERIMENT: experiment }, () => runPipeline(entry, { storeDir: store, entry, mode: 'process', params: { size } }));
    expect(r.status).toBe('succeeded');
    const run = await taskRun(experiment, r.runId, 'make');
    const tags = new Map((run.data.tags ?? []).map((t) => [t.key, t.value]));
    const modelHash = sha(bytes(size, 7));
    expect(tags.get('sluice.artifact.model.hash')).toBe(modelHash);
    expect(tags.get(copiedTag('model'))).toBe(modelHash);
    expect((await ml.client.metricHistory(run.info.run_id, 'loss')).map((m) => m.step).sort()).toEqual([0, 1]);

    const artRoot = await ml.client.runArtifactRoot(run.info.run_id);
    expect(sha(await ml.client.downloadArtifact(`${artRoot}/model`))).toBe(modelHash);
    // a directory Model keeps its layout; its hash is the run store's hash of the directory
    expect((await ml.client.downloadArtifact(`${artRoot}/bundle/MLmodel`)).toString()).toBe('flavor: sluice-test\n');
    expect(sha(await ml.client.downloadArtifact(`${artRoot}/bundle/weights/w.bin`))).toBe(sha(bytes(4096, 11)));
    const s = StateStore.open(storePaths(store).db, { readonly: true });
    const bundleRow = s.artifactsOfRun(r.runId).find((a) => a.output === 'bundle');
    s.close();
    expect(tags.get(copiedTag('bundle'))).toBe(`sha256:${bundleRow?.hash}`);
    const bundlePath = new ArtifactStore(storePaths(store).artifacts).pathOf(bundleRow?.hash as string);
    expect(await artifactHash(bundlePath)).toBe(`sha256:${(await contentHash(bundlePath)).hash}`); // the pod's hash = the store's
    // 'models': the Dataset is referenced (URI and hash tags), not copied
    expect((await ml.client.listArtifacts(artRoot)).map((f) => f.path.split('/').pop()).sort()).toEqual(['bundle', 'model']);
    expect(tags.get('sluice.artifact.data.hash')).toMatch(/^sha256:[0-9a-f]{64}$/);
    localRun = { runId: r.runId, store, experiment, modelHash };
  }, 240_000);

  it('a re-sync, even with the local record of what was sent gone, uploads nothing twice', async () => {
    const { runId, store, experiment } = localRun;
    const run = await taskRun(experiment, runId, 'make');
    const onDisk = join(ml.server.artifactsDir, await ml.client.runArtifactRoot(run.info.run_id));
    const before = serverFiles(onDisk);
    expect([...before.keys()].sort()).toEqual(['bundle/MLmodel', 'bundle/weights/w.bin', 'model']);
    const t = await openTrackingStore(store);
    t.db.prepare('DELETE FROM tr_sync').run();
    const s = StateStore.open(storePaths(store).db, { readonly: true });
    const cas = new ArtifactStore(storePaths(store).artifacts);
    const sent = await syncRun(t, ml.client, runInfo(s, runId, (h) => cas.pathOf(h)), { experiment, artifacts: 'models' });
    s.close();
    t.close();
    expect(sent).toMatchObject({ files: 0, bytes: 0, metrics: 2 }); // the points again: MLflow keeps one copy of an identical point
    expect(serverFiles(onDisk)).toEqual(before);
    const exp = (await ml.client.getExperimentByName(experiment)) as string;
    expect(await ml.client.searchRuns([exp], `tags.\`sluice.run_id\` = '${runId}'`)).toHaveLength(2); // found again, not created
    expect((await ml.client.metricHistory(run.info.run_id, 'loss')).length).toBe(2);
  }, 120_000);

  it('a server killed mid-upload: the sync fails, and the next one sends only what is missing; nothing lost, nothing stored twice', async () => {
    const dir = ml.tmp();
    const art = join(dir, 'weights');
    mkdirSync(art);
    writeFileSync(join(art, 'a.bin'), bytes(20_000, 3));
    writeFileSync(join(art, 'b.bin'), bytes(6_000_000, 5));
    const hash = await artifactHash(art);
    const proxy = await throttledProxy(ml.server.port, 1_500_000);
    const slow = new MlflowClient({ uri: `http://127.0.0.1:${proxy.port}`, attempts: 1, timeoutMs: 20_000 });
    const t = await openTrackingStore(ml.tmp());
    const runId = `kill-${Date.now()}`;
    const info: RunInfo = {
      runId, pipeline: 'kill-upload', status: 'succeeded', startedAt: Date.now(), finishedAt: Date.now(), params: {}, irHash: 'x',
      tasks: [{ key: 'train', state: 'succeeded', artifacts: [{ output: 'weights', hash, uri: 'sluice:x', type: 'Model', path: art }] }],
    };
    // kill the server once a.bin is through and b.bin is on its way
    const killed = proxy.once(200_000).then(() => ml.server.kill());
    await expect(syncRun(t, slow, info, { artifacts: 'models' })).rejects.toThrow();
    await killed;
    expect(t.pending(slow.uri).map((p) => p.runId)).toEqual([runId]);
    await ml.server.restart();
    const run = await taskRun('kill-upload', runId, 'train');
    const artRoot = await ml.client.runArtifactRoot(run.info.run_id);
    const onDisk = join(ml.server.artifactsDir, artRoot);
    const first = serverFiles(onDisk);
    expect([...first.keys()]).toEqual(['weights/a.bin']); // b.bin never became visible half-written
    expect(run.data.tags?.find((x) => x.key === copiedTag('weights'))).toBeUndefined();

    const again = await syncRun(t, slow, info, { artifacts: 'models' });
    expect(again).toMatchObject({ files: 1, bytes: 6_000_000 });
    const after = serverFiles(onDisk);
    expect([...after.keys()].sort()).toEqual(['weights/a.bin', 'weights/b.bin']);
    expect(after.get('weights/a.bin')).toEqual(first.get('weights/a.bin')); // not sent twice
    expect(sha(await ml.client.downloadArtifact(`${artRoot}/weights/b.bin`))).toBe(sha(bytes(6_000_000, 5)));
    expect(sha(await ml.client.downloadArtifact(`${artRoot}/weights/a.bin`))).toBe(sha(bytes(20_000, 3)));
    expect((await ml.client.getRun(run.info.run_id)).data.tags?.find((x) => x.key === copiedTag('weights'))?.value).toBe(hash);
    expect(t.pending()).toEqual([]);
    t.close();
    proxy.close();
  }, 240_000);

  it('required tracking with the server absent or killed: exit 2 before any step runs, one message, nothing in the store; --no-tracking-required runs and buffers', async () => {
    const absent = `http://127.0.0.1:${await freePort()}`;
    for (const [what, uri] of [['absent', absent], ['killed', ml.server.uri]] as const) {
      if (what === 'killed') await ml.server.kill();
      const store = join(ml.tmp(), '.sluice');
      const r = spawnSync(process.execPath, [sluice, 'run', entry, '--store', store], { encoding: 'utf8', cwd: join(import.meta.dirname, '..'), env: cleanEnv({ OPTION_TEST_URI: uri, OPTION_TEST_REQUIRED: '1' }) });
      expect(r.status, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^sluice: tracking is required, but MLflow at ${uri.replace(/[.]/g, '\\.')} cannot be reached \\(.*\\); nothing was run\\. Start the server`));
      expect(() => readdirSync(store)).toThrow(); // no store at all: no run record, no artifacts
    }
    // the flag beats the option: the run goes ahead and waits for the server in the store
    const store = join(ml.tmp(), '.sluice');
    const r = spawnSync(process.execPath, [sluice, 'run', entry, '--store', store, '--no-tracking-required', '--json'], { encoding: 'utf8', cwd: join(import.meta.dirname, '..'), env: cleanEnv({ OPTION_TEST_URI: ml.server.uri, OPTION_TEST_REQUIRED: '1' }) });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('tracking: could not send run');
    const t = await openTrackingStore(store, { readonly: true });
    expect(t.pending()).toHaveLength(1);
    t.close();
    await ml.server.restart();
  }, 300_000);

  it('in a pod (sluice exec with the environment the compiler emitted) the step is tracked and copied as locally', async () => {
    // compile with a token in the environment: it must not reach the manifest
    const out = join(ml.tmp(), 'wf.yaml');
    const experiment = `pod-opt-${Date.now()}`;
    const c = spawnSync(process.execPath, [sluice, 'compile', entry, '-o', out, '--image', 'ghcr.io/acme/p:1'], { encoding: 'utf8', cwd: join(import.meta.dirname, '..'), env: cleanEnv({ OPTION_TEST_URI: ml.server.uri, OPTION_TEST_EXPERIMENT: experiment, MLFLOW_TRACKING_TOKEN: 'tok-3f9a-never-in-a-manifest' }) });
    expect(c.status, c.stderr).toBe(0);
    const yaml = (await import('node:fs')).readFileSync(out, 'utf8');
    expect(yaml).not.toContain('tok-3f9a-never-in-a-manifest');
    const wf = parse(yaml) as { spec: { templates: { name: string; container?: { env?: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[]; args?: string[] } }[] } };
    const tpl = wf.spec.templates.find((x) => x.container?.args?.includes('make'));
    const env = tpl?.container?.env ?? [];
    expect(env.find((e) => e.name === 'MLFLOW_TRACKING_TOKEN')).toEqual({ name: 'MLFLOW_TRACKING_TOKEN', valueFrom: { secretKeyRef: { name: 'mlflow', key: 'token' } } });
    // what the kubelet would give the pod: plain values ($$ unescaped) and the secret's value
    const secrets: Record<string, string> = { 'mlflow/token': 'pod-token' };
    const podEnv = Object.fromEntries(env.map((e) => [e.name, e.valueFrom ? secrets[`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`] as string : (e.value as string).replace(/\$\$/g, '$')]));
    expect(podEnv).toMatchObject({ MLFLOW_TRACKING_URI: ml.server.uri, SLUICE_TRACKING_EXPERIMENT: experiment, SLUICE_TRACKING_ARTIFACTS: 'models' });
    const args = tpl?.container?.args as string[];
    const hash = args[args.indexOf('--component') + 1] as string;
    const dir = ml.tmp();
    const size = 300_000;
    const x = spawnSync(process.execPath, [sluice, 'exec', '--entry', entry, '--component', hash, '--task', 'make', '--run-id', 'wf-uid-opt', '--param', `size=${size}`, '--outputs', join(dir, 'out')],
      { encoding: 'utf8', cwd: join(import.meta.dirname, '..'), env: cleanEnv(podEnv) }); // the pod's environment alone names the server
    expect(x.status, x.stderr).toBe(0);
    const run = await taskRun(experiment, 'wf-uid-opt', 'make');
    const tags = new Map((run.data.tags ?? []).map((t) => [t.key, t.value]));
    expect(tags.get(copiedTag('model'))).toBe(localRun.modelHash); // the same bytes, the same hash as the local run
    const localBundle = (await taskRun(localRun.experiment, localRun.runId, 'make')).data.tags?.find((t) => t.key === copiedTag('bundle'))?.value;
    expect(tags.get(copiedTag('bundle'))).toBe(localBundle);
    const artRoot = await ml.client.runArtifactRoot(run.info.run_id);
    expect(sha(await ml.client.downloadArtifact(`${artRoot}/model`))).toBe(localRun.modelHash);
    expect((await ml.client.listArtifacts(artRoot)).map((f) => f.path.split('/').pop()).sort()).toEqual(['bundle', 'model']);
    expect((await ml.client.metricHistory(run.info.run_id, 'loss')).length).toBe(2);

    // required in a pod, server down: the step is refused before it runs (exit 2, never retried on Argo)
    await ml.server.kill();
    const dir2 = ml.tmp();
    const y = spawnSync(process.execPath, [sluice, 'exec', '--entry', entry, '--component', hash, '--task', 'make', '--run-id', 'wf-uid-opt2', '--param', `size=${size}`, '--outputs', join(dir2, 'out')],
      { encoding: 'utf8', cwd: join(import.meta.dirname, '..'), env: cleanEnv({ ...podEnv, SLUICE_TRACKING_REQUIRED: 'true' }) });
    expect(y.status, y.stderr).toBe(2);
    expect(y.stderr).toContain(`tracking is required, but MLflow at ${ml.server.uri} cannot be reached`);
    expect(() => statSync(join(dir2, 'out', 'artifacts', 'model'))).toThrow(); // the step did not run
    await ml.server.restart();
  }, 240_000);
});

/**
 * A TCP proxy to the server that forwards client bytes at `rate` bytes/s, so that an upload is
 * slow enough to be cut. `once(n)` resolves when `n` bytes of request bodies have gone through.
 */
async function throttledProxy(target: number, rate: number): Promise<{ port: number; once(n: number): Promise<void>; close(): void }> {
  let forwarded = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const srv: Server = createServer((down) => {
    const up = connect(target, '127.0.0.1');
    sockets.add(down);
    sockets.add(up);
    up.on('data', (d) => down.write(d));
    const queue: Buffer[] = [];
    let busy = false;
    const pump = () => {
      if (busy) return;
      const chunk = queue.shift();
      if (!chunk) return;
      busy = true;
      const piece = chunk.subarray(0, 16_384);
      if (piece.length < chunk.length) queue.unshift(chunk.subarray(16_384));
      up.write(piece);
      forwarded += piece.length;
      for (const w of waiters.filter((x) => forwarded >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      setTimeout(() => { busy = false; pump(); }, (piece.length / rate) * 1000);
    };
    down.on('data', (d) => { queue.push(d); pump(); });
    const end = () => { down.destroy(); up.destroy(); };
    up.on('close', end).on('error', end);
    down.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  return {
    port,
    once(n) {
      const base = forwarded;
      return new Promise((resolve) => waiters.push({ n: base + n, resolve }));
    },
    close() {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}

