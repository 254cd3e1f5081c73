// `sluice run --cluster` is `sluice submit`: the same flags, the local-only ones refused (exit 2).
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../../..');
const sluice = path.join(repo, 'packages/runner/bin/sluice.mjs');
const pipeline = path.join(repo, 'examples/container-python/pipeline.ts');

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [sluice, ...args], { cwd: repo, env: { ...process.env, KUBECONFIG: '', ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

describe('sluice run --cluster', () => {
  test('has submit\'s flags and says it is submit', async () => {
    const r = await cli(['run', '--help']);
    expect(r.stdout.replace(/\s+/g, " ")).toContain("--cluster submit to the cluster (Argo Workflows): the same as `sluice submit`");
    for (const flag of ['--image <image>', '--entry-in-image <path>', '--watch', '--checkpoint-store <url>', '--kubeconfig <file>', '--context <name>', '--namespace <ns>']) expect(r.stdout).toContain(flag);
  }, 60_000);

  test('goes to the cluster (a missing kubeconfig is said, exit 2), and local-only flags are refused, not ignored', async () => {
    const missing = await cli(['run', '--cluster', pipeline, '--kubeconfig', path.join(repo, 'no-such-kubeconfig')]);
    expect({ code: missing.code, stderr: missing.stderr }).toMatchObject({ code: 2, stderr: expect.stringMatching(/^sluice: .*no-such-kubeconfig/) });
    const local = await cli(['run', '--cluster', pipeline, '--in-process', '--concurrency', '2', '--no-cache']);
    expect(local.code).toBe(2);
    expect(local.stderr).toBe('sluice: --in-process, --concurrency, --no-cache are for local runs only; `sluice run --cluster` is `sluice submit` (see `sluice submit --help`); to run cached steps again on Argo, bump their cache version\n');
  }, 60_000);

  test('retry --cluster --watch is taken (goes to the cluster: a missing kubeconfig is said, exit 2), not refused as an unknown option (h5 B3)', async () => {
    const r = await cli(['retry', 'some-run', '--cluster', '--watch', '--kubeconfig', path.join(repo, 'no-such-kubeconfig')]);
    expect(r.stderr).not.toContain('unknown option');
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 2, stderr: expect.stringMatching(/^sluice: .*no-such-kubeconfig/) });
  }, 60_000);

  test('runs --cluster without a local store lists no local runs and goes on to the cluster (h5 B2)', async () => {
    const empty = path.join(repo, 'packages/cluster/test/fixture/no-store-here');
    const r = await cli(['runs', '--cluster', '--store', empty, '--kubeconfig', path.join(repo, 'no-such-kubeconfig')]);
    expect(r.stdout).toBe('no local runs here\n');
    expect(r.stderr).toMatch(/^sluice: .*no-such-kubeconfig/);
    expect(r.stderr).not.toMatch(/no Sluice state/);
  }, 60_000);
});

describe('sluice submit: bad input and a missing cluster, said before anything is asked', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'sluice-nokube-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  // a machine with no kubeconfig and not in a pod
  const bare = { HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' };

  test('no kubeconfig anywhere: "no Kubernetes cluster configured", exit 2 (not a made-up http://localhost:8080 and a TLS message)', async () => {
    for (const args of [['submit', pipeline], ['runs', '--cluster']]) {
      const r = await cli(args, bare);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^sluice: no Kubernetes cluster configured: set KUBECONFIG/m);
    }
  }, 60_000);

  test('a cluster served over plain HTTP is refused by name, exit 2', async () => {
    const kc = path.join(home, 'plain.yaml');
    writeFileSync(kc, 'apiVersion: v1\nkind: Config\nclusters:\n- name: plain\n  cluster: {server: "http://127.0.0.1:1"}\ncontexts:\n- name: c\n  context: {cluster: plain, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: abc}\n');
    const r = await cli(['submit', pipeline, '--kubeconfig', kc], bare);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: 'sluice: cluster "plain" is at http://127.0.0.1:1: Sluice talks to a Kubernetes API server over HTTPS only\n' });
  }, 60_000);

  test('a missing pipeline file or a FIFO is said first, whatever the kubeconfig', async () => {
    const fifo = path.join(home, 'pipe.ts');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const missing = await cli(['submit', path.join(home, 'nope.ts'), '--kubeconfig', path.join(repo, 'no-such-kubeconfig')], bare);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 2, stderr: `sluice: ${path.join(home, 'nope.ts')}: no such file\n` });
    const pipe = await cli(['submit', fifo], bare);
    expect(pipe.code).toBe(2);
    expect(pipe.stderr).toMatch(/pipe\.ts: is not a regular file/);
  }, 60_000);
});
