// The cluster client end to end: the real `sluice` binary (packages/runner/bin/sluice.mjs, the
// cluster verbs of @sluice/cluster) against Argo's real workflow controller on the test cluster
// (tools/test/support/cluster/): `submit --watch` (bundled code on node:22-slim, run by the host
// executor with the bundle ConfigMap mounted), `logs` (through the API server's pods/log, served
// by the host executor's kubelet endpoint), `runs`/`show --cluster`, `retry`, `resubmit
// --memoized` and `stop`. Steps leave marks on the host, so the tests count what really ran.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { KubeClient } from './support/kube/client.ts';
import { repoRoot } from './support/paths.ts';
import { describeWorkflow } from './support/cluster/compare.ts';
import { getWorkflow, waitForWorkflow, type Workflow } from './support/cluster/workflows.ts';

const run = promisify(execFile);
const cluster = inject('cluster');
const skip = 'skip' in cluster ? cluster.skip : undefined;
if (skip) console.log(`[cluster] skipping the cluster client end-to-end suite: ${skip}`);
const sluice = path.join(repoRoot, 'packages/runner/bin/sluice.mjs');
const FIXTURE = 'tools/test/fixtures/cluster/client.ts';

async function cli(args: string[], timeout = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [sluice, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, timeout, maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}
const said = (r: { code: number; stdout: string; stderr: string }): string => `exit ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;
const count = (marks: string, kind: string): number => (existsSync(path.join(marks, kind)) ? readdirSync(path.join(marks, kind)).length : 0);
/** The workflow name from `submit --json` (its first line). */
const submitted = (stdout: string): string => (JSON.parse(stdout.split('\n')[0]!) as { workflow: string }).workflow;
const nodesOf = (wf: Workflow, template: string) => Object.values(wf.status?.nodes ?? {}).filter((n) => n.templateName === template && n.type === 'Pod');

describe.skipIf(skip)("the sluice CLI on Argo's controller (submit, watch, logs, runs, show, retry, resubmit, stop)", () => {
  const c = cluster as Exclude<typeof cluster, { skip: string }>;
  const kube = skip ? undefined! : new KubeClient(c.kube);
  const conn = skip ? [] : ['--kubeconfig', c.kube.kubeconfig, '--namespace', c.namespace];
  let scratch = '';
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'sluice-client-e2e-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  test('submit --watch exits 0 for a run that succeeds; its output is the local meaning', async () => {
    const marks = path.join(scratch, 'ok');
    mkdirSync(marks, { recursive: true });
    writeFileSync(path.join(marks, 'open'), '');
    const r = await cli(['submit', FIXTURE, '--export', 'gated', '-p', `marks=${marks}`, '-p', 'word=sunny', '--watch', '--json', ...conn]);
    expect(r.code, said(r)).toBe(0);
    const wf = await getWorkflow(kube, c.namespace, submitted(r.stdout));
    expect(wf.status?.phase, describeWorkflow(wf, c)).toBe('Succeeded');
    expect(wf.metadata.labels?.['sluice.dev/pipeline']).toBe('h5-client-gated');
    const gateNode = nodesOf(wf, 'gate')[0];
    expect(gateNode?.outputs?.parameters?.find((p) => p.name === 'text')?.value).toContain('hello sunny, through the gate');
    expect([count(marks, 'hello'), count(marks, 'gate')]).toEqual([1, 1]);
  }, 600_000);

  test('a failing run: submit --watch exits 1; logs, runs and show --cluster tell it; retry reruns only the failed step and watch exits 0', async () => {
    const marks = path.join(scratch, 'retry');
    const r = await cli(['submit', FIXTURE, '--export', 'gated', '-p', `marks=${marks}`, '-p', 'word=rainy', '--watch', '--json', ...conn]);
    expect(r.code, said(r)).toBe(1);
    const name = submitted(r.stdout);
    const failed = await getWorkflow(kube, c.namespace, name);
    expect(failed.status?.phase, describeWorkflow(failed, c)).toBe('Failed');
    expect([count(marks, 'hello'), count(marks, 'gate')]).toEqual([1, 1]);

    // logs of one task, through the API server (pods/log -> the node's kubelet endpoint)
    const logs = await cli(['logs', name, 'hello', '--cluster', ...conn]);
    expect(logs.code, said(logs)).toBe(0);
    expect(logs.stdout).toContain('hello says rainy');
    const gateLogs = await cli(['logs', name, 'gate', '--cluster', ...conn]);
    expect(gateLogs.stdout + gateLogs.stderr, said(gateLogs)).toContain('the gate is closed');

    // the run beside local ones (a local store with a run in it), and its tasks by key
    const store = path.join(scratch, 'store');
    const local = await cli(['run', 'tools/test/fixtures/cluster/cron.ts', '--export', 'ticker', '-p', `marks=${path.join(scratch, 'local-marks')}`, '-p', 'when=now', '--store', store]);
    expect(local.code, said(local)).toBe(0);
    const runs = await cli(['runs', '--cluster', '--store', store, ...conn]);
    expect(runs.code, said(runs)).toBe(0);
    expect(runs.stdout).toContain('h5-ticker');
    expect(runs.stdout).toMatch(new RegExp(`${name}\\s+h5-client-gated\\s+failed`));
    const show = await cli(['show', name, '--cluster', '--json', ...conn]);
    expect(show.code, said(show)).toBe(0);
    const view = JSON.parse(show.stdout) as { status: string; tasks: { key: string; state: string }[] };
    expect(view.status).toBe('failed');
    expect(Object.fromEntries(view.tasks.map((t) => [t.key, t.state]))).toMatchObject({ hello: 'succeeded', gate: 'failed' });

    // retry: the failed node is reset and runs again, the succeeded one is kept
    writeFileSync(path.join(marks, 'open'), '');
    // `retry --cluster --watch` follows the retried run to its end; its exit code is the run's
    const retried = await cli(['retry', name, '--cluster', '--watch', ...conn]);
    expect(retried.code, said(retried)).toBe(0);
    const done = await getWorkflow(kube, c.namespace, name);
    expect(done.status?.phase, describeWorkflow(done, c)).toBe('Succeeded');
    expect([count(marks, 'hello'), count(marks, 'gate')]).toEqual([1, 2]);
  }, 900_000);

  test('runs --cluster with no local store lists the cluster runs (a user who only submits has no local store)', async () => {
    const runs = await cli(['runs', '--cluster', '--store', path.join(scratch, 'no-store-here'), ...conn]);
    expect(runs.code, said(runs)).toBe(0);
    expect(runs.stdout).toContain('h5-client-gated');
  }, 300_000);

  test('resubmit --memoized: a new run in which the failed run\'s succeeded step is not run again', async () => {
    const marks = path.join(scratch, 'resubmit');
    const r = await cli(['submit', FIXTURE, '--export', 'gated', '-p', `marks=${marks}`, '-p', 'word=cloudy', '--json', ...conn]);
    expect(r.code, said(r)).toBe(0);
    const first = await waitForWorkflow(kube, c.namespace, submitted(r.stdout));
    expect(first.status?.phase, describeWorkflow(first, c)).toBe('Failed');
    writeFileSync(path.join(marks, 'open'), '');
    const again = await cli(['resubmit', first.metadata.name, '--memoized', '--watch', '--json', ...conn]);
    expect(again.code, said(again)).toBe(0);
    const next = (JSON.parse(again.stdout.split('\n')[0]!) as { run: string }).run;
    expect(next).not.toBe(first.metadata.name);
    const wf = await getWorkflow(kube, c.namespace, next);
    expect(wf.status?.phase, describeWorkflow(wf, c)).toBe('Succeeded');
    expect([count(marks, 'hello'), count(marks, 'gate')]).toEqual([1, 2]);
    const hello = Object.values(wf.status?.nodes ?? {}).find((n) => n.name === `${next}.hello`);
    expect(hello?.phase, describeWorkflow(wf, c)).toBe('Skipped');
    expect(hello?.message).toMatch(/^original pod: /);
  }, 900_000);

  test('stop: no new step starts after the running one; the run ends failed and watch exits 1', async () => {
    const marks = path.join(scratch, 'stop');
    const r = await cli(['submit', FIXTURE, '--export', 'napping', '-p', `marks=${marks}`, '--json', ...conn]);
    expect(r.code, said(r)).toBe(0);
    const name = submitted(r.stdout);
    for (let i = 0; i < 600 && count(marks, 'nap-start') === 0; i++) await sleep(200);
    expect(count(marks, 'nap-start')).toBe(1);
    const stopped = await cli(['stop', name, '--cluster', ...conn]);
    expect(stopped.code, said(stopped)).toBe(0);
    const watched = await cli(['watch', name, ...conn]);
    expect(watched.code, said(watched)).toBe(1);
    const wf = await getWorkflow(kube, c.namespace, name);
    expect(wf.status?.phase, describeWorkflow(wf, c)).toBe('Failed');
    expect(wf.spec.shutdown).toBe('Stop');
    expect(count(marks, 'nap-start')).toBe(1); // the second nap never started
  }, 600_000);
});
