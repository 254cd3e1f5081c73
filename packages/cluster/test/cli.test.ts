// `sluice run --cluster` is `sluice submit`: the same flags, the local-only ones refused (exit 2).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../../..');
const sluice = path.join(repo, 'packages/runner/bin/sluice.mjs');
const pipeline = path.join(repo, 'examples/container-python/pipeline.ts');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [sluice, ...args], { cwd: repo, env: { ...process.env, KUBECONFIG: '' }, timeout: 60_000 });
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
