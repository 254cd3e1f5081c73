// Issue 10 item 6: a retried or resubmitted pod resumes from the last checkpoint, kept in the
// artifact repository (a real S3 server here: s3rver on 127.0.0.1) under the run and the task.
// The "pods" are plain `node run.mjs exec …` processes in empty directories, with the bundle
// packed as its ConfigMap holds it.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bundlePipeline, packBundle } from '../src/index.ts';
import { checkpointTaskKey } from '../src/checkpoint-sync.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const scratch = mkdtempSync(path.join(tmpdir(), 'sluice-ckpt-'));
let server: S3rver;
let endpoint = '';
let mount = '';
let hash = '';

beforeAll(async () => {
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: path.join(scratch, 's3'), configureBuckets: [{ name: 'artifacts', configs: [] }] });
  const addr = (await server.run()) as { port: number };
  endpoint = `http://127.0.0.1:${addr.port}`;
  const b = await bundlePipeline(path.join(here, 'fixture/pipeline.ts'), { exportName: 'checkpointed', root: path.join(here, 'fixture') });
  const packed = packBundle(b, path.join(scratch, 'unpacked'));
  mount = path.join(scratch, 'mount'); // what the ConfigMap volume shows the pod
  mkdirSync(mount);
  writeFileSync(path.join(mount, packed.loaderName), packed.loader);
  writeFileSync(path.join(mount, packed.gzName), packed.gz);
  const ir = JSON.parse(spawnSync(process.execPath, [path.join(mount, 'run.mjs'), 'ir'], { cwd: scratch, encoding: 'utf8' }).stdout) as { components: Record<string, { name: string }> };
  hash = Object.keys(ir.components).find((h) => ir.components[h]!.name === 'count-up')!;
}, 60_000);

afterAll(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

// asynchronous: the S3 server runs in this process
function runNode(args: string[], o: { cwd: string; env: Record<string, string> }): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { ...o, encoding: 'utf8', timeout: 60_000 }, (err, _out, stderr) => {
      resolve({ status: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0, stderr });
    });
  });
}

async function pod(node: string, runId: string, withStore = true): Promise<{ status: number | null; stderr: string; reached?: string }> {
  const dir = mkdtempSync(path.join(scratch, 'pod-'));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: dir };
  if (withStore) Object.assign(env, { SLUICE_CHECKPOINT_S3: JSON.stringify({ endpoint, bucket: 'artifacts', prefix: 'sluice' }), AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
  const r = await runNode([path.join(mount, 'run.mjs'), 'exec', '--component', hash, '--task', node, '--param', 'target=3', '--run-id', runId, '--outputs', path.join(dir, 'out'), '--checkpoint-dir', path.join(dir, 'ckpt')], { cwd: dir, env });
  let reached: string | undefined;
  try { reached = readFileSync(path.join(dir, 'out/parameters/reached'), 'utf8'); } catch { /* failed */ }
  return { status: r.status, stderr: r.stderr, ...(reached !== undefined ? { reached } : {}) };
}

describe('checkpoints in the artifact repository', () => {
  test('the task part of the location is stable across retries and resubmissions', () => {
    expect(checkpointTaskKey('train-x2k9p.count-up(0)')).toBe('count-up');
    expect(checkpointTaskKey('train-abcde.count-up(3)')).toBe('count-up');
    expect(checkpointTaskKey('wf.sweep(2:{"a":1}).train(1)')).toBe('sweep[2]/train');
    expect(checkpointTaskKey('sweep[2]/train')).toBe('sweep[2]/train');
  });

  test('a retried pod and then a resubmitted pod go on from the last checkpoint', async () => {
    const first = (await pod('wf-aaaaa.count-up(0)', 'run-1'));
    expect(first.status).toBe(1);
    expect(first.stderr).toMatch(/reached 1 of 3/);
    const retried = (await pod('wf-aaaaa.count-up(1)', 'run-1')); // argo retry: same workflow, next attempt, a fresh pod
    expect(retried.stderr).toMatch(/restored 1 checkpoint file\(s\) from sluice\/checkpoints\/run-1\/count-up\//);
    expect(retried.stderr).toMatch(/reached 2 of 3/);
    const resubmitted = (await pod('wf-bbbbb.count-up(0)', 'run-1')); // resubmit: another workflow, the same run id
    expect(resubmitted.status).toBe(0);
    expect(resubmitted.reached).toBe('3');
    // another run starts from nothing, and so does a pod without the store
    expect((await pod('wf-ccccc.count-up(0)', 'run-2')).stderr).toMatch(/reached 1 of 3/);
    expect((await pod('wf-aaaaa.count-up(2)', 'run-1', false)).stderr).toMatch(/reached 1 of 3/);
  }, 120_000);
});
