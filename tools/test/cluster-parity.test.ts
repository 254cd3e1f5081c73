// The parity rows on Argo's real controller: the same pipeline (tools/test/fixtures/cluster/
// parity.ts) run locally and compiled + submitted to the test cluster must agree on outputs,
// attempts, branches, loop concurrency, exit-handler status, deadline, memoization, mutexes and
// checkpoints. Steps leave marks in a per-side directory (pods run on this host), which is how
// attempts and what the exit handler saw are counted on both sides.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { KubeClient } from './support/kube/client.ts';
import { cleanup, describeWorkflow, runBoth, type ParityRun } from './support/cluster/compare.ts';
import { normalizeValue, parseManifest, podNodes, sluiceCompile, submitWorkflow, waitForWorkflow, type Workflow } from './support/cluster/workflows.ts';
import { runPipeline } from '@sluice/runner';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const cluster = inject('cluster');
const skip = 'skip' in cluster ? cluster.skip : undefined;
if (skip) console.log(`[cluster] skipping the parity suites: ${skip}`);
const ENTRY = 'tools/test/fixtures/cluster/parity.ts';
const marks = (side: 'local' | 'cluster', scratch: string) => ({ marks: path.join(scratch, 'marks') });
function countMarks(r: ParityRun, side: 'local' | 'cluster', kind: string): number {
  const dir = path.join(r.scratch, side, 'marks', kind);
  return existsSync(dir) ? readdirSync(dir).length : 0;
}
function readMarks(r: ParityRun, side: 'local' | 'cluster', kind: string): string[] {
  const dir = path.join(r.scratch, side, 'marks', kind);
  return existsSync(dir) ? readdirSync(dir).sort().map((f) => readFileSync(path.join(dir, f), 'utf8')) : [];
}
/** Max number of `square` steps running at once, from their start/end lines. */
function maxOverlap(r: ParityRun, side: 'local' | 'cluster'): number {
  const f = path.join(r.scratch, side, 'marks', 'square.log');
  const ev = readFileSync(f, 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([what, , t]) => ({ what, t: Number(t) }));
  ev.sort((a, b) => a.t - b.t || (a.what === 'end' ? -1 : 1));
  let cur = 0;
  let max = 0;
  for (const e of ev) {
    cur += e.what === 'start' ? 1 : -1;
    max = Math.max(max, cur);
  }
  return max;
}

describe.skipIf(skip)('parity on Argo: the same pipeline locally and on the real controller', () => {
  const c = cluster as Exclude<typeof cluster, { skip: string }>;
  const kube = skip ? undefined! : new KubeClient(c.kube);
  const both = async (exportName: string, o: { params?: Record<string, string>; noMarks?: boolean } = {}): Promise<ParityRun> => {
    const r = await runBoth(c, kube, ENTRY, { exportName, ...(o.noMarks ? {} : { side: marks }), ...(o.params ? { params: o.params } : {}) });
    onTestFinished(() => cleanup(r));
    return r;
  };
  const attempts = (wf: Workflow, template: string): number => podNodes(wf).filter((n) => n.templateName === template).length;

  describe('retries and exit-code policies', () => {
    it('a step failing twice, retried (limit 3): succeeds on the 3rd attempt on both sides', async () => {
      const r = await both('retries');
      expect(r.local.status).toBe('succeeded');
      expect(r.wf.status?.phase, describeWorkflow(r.wf, c)).toBe('Succeeded');
      expect(r.cluster.params).toEqual(r.local.params);
      expect(r.local.params).toEqual({ attempts: '3' });
      expect([countMarks(r, 'local', 'flaky'), countMarks(r, 'cluster', 'flaky')]).toEqual([3, 3]);
      expect(attempts(r.wf, 'flaky')).toBe(3);
    }, 600_000);

    it("retry on 'error' only: a plain failure is not retried on either side", async () => {
      const r = await both('retryOnErrorOnly');
      expect(r.local.status).toBe('failed');
      expect(r.wf.status?.phase).toBe('Failed');
      expect([countMarks(r, 'local', 'on-error'), countMarks(r, 'cluster', 'on-error')]).toEqual([1, 1]);
    }, 600_000);

    it(
      'NonRetryableError (exit 3) under limit 2: one attempt on both sides',
      async () => {
        const r = await both('nonRetryable');
        expect(r.local.status).toBe('failed');
        expect(r.wf.status?.phase).toBe('Failed');
        expect(countMarks(r, 'local', 'refuses')).toBe(1);
        expect(countMarks(r, 'cluster', 'refuses'), describeWorkflow(r.wf, c)).toBe(1);
      },
      600_000,
    );
  });

  it('conditions over number, boolean, string and float outputs: same branches, same verdict', async () => {
    const r = await both('conditions', { noMarks: true });
    expect(r.local.status, r.localResult.error).toBe('succeeded');
    expect(r.wf.status?.phase, describeWorkflow(r.wf, c)).toBe('Succeeded');
    expect(r.local.params).toEqual({ verdict: JSON.stringify('big odd gbm') });
    expect(r.cluster.params).toEqual(r.local.params);
    expect(r.cluster.ran).toEqual(r.local.ran);
    expect(r.local.ran).toMatchObject({ 'describe-run': 1, big: 1 });
    // Branches taken: the steps that ran (above) are the same; skipped nodes are named differently
    // on each side (Argo skips the condition's DAG task, the runner each step), so not compared by name.
  }, 600_000);

  describe('loops with parallelism and fan-in', () => {
    it(
      'forEach of 6, parallelism 2, numbers summed: same total, never more than 2 at once',
      async () => {
        const r = await both('loopParams');
        expect(r.local.status, r.localResult.error).toBe('succeeded');
        expect(r.wf.status?.phase, describeWorkflow(r.wf, c)).toBe('Succeeded');
        expect(r.local.params).toEqual({ total: '91', count: '6' });
        expect(r.cluster.params).toEqual(r.local.params);
        expect(r.cluster.ran).toEqual(r.local.ran);
        expect(maxOverlap(r, 'local')).toBeLessThanOrEqual(2);
        expect(maxOverlap(r, 'cluster')).toBeLessThanOrEqual(2);
      },
      600_000,
    );

    it('forEach of 4, parallelism 2, files concatenated in item order: same bytes', async () => {
      const r = await both('loopArtifacts');
      expect(r.local.status, r.localResult.error).toBe('succeeded');
      expect(r.wf.status?.phase, describeWorkflow(r.wf, c)).toBe('Succeeded');
      expect(Object.keys(r.local.artifacts)).toEqual(['all']);
      expect(r.cluster.artifacts).toEqual(r.local.artifacts);
      expect(r.cluster.ran).toEqual(r.local.ran);
      expect(r.local.ran).toMatchObject({ square: 4, concat: 1 });
      expect(maxOverlap(r, 'cluster')).toBeLessThanOrEqual(2);
      expect(maxOverlap(r, 'local')).toBeLessThanOrEqual(2);
    }, 600_000);
  });

  describe('exit handlers see the final status', () => {
    it('after a failed step: both handlers ran once and saw Failed', async () => {
      const r = await both('exitFailed');
      expect(r.local.status).toBe('failed');
      expect(r.wf.status?.phase).toBe('Failed');
      expect(readMarks(r, 'local', 'exit')).toEqual(['Failed']);
      expect(readMarks(r, 'cluster', 'exit'), describeWorkflow(r.wf, c)).toEqual(['Failed']);
    }, 600_000);

    it('after success: both handlers ran once and saw Succeeded', async () => {
      const r = await both('exitSucceeded');
      expect(r.local.status).toBe('succeeded');
      expect(r.wf.status?.phase, describeWorkflow(r.wf, c)).toBe('Succeeded');
      expect(readMarks(r, 'local', 'exit')).toEqual(['Succeeded']);
      expect(readMarks(r, 'cluster', 'exit')).toEqual(['Succeeded']);
    }, 600_000);
  });

  it(
    'a 6 s pipeline deadline stops a 60 s step on both sides',
    async () => {
      const r = await both('deadline');
      // Argo first: the controller's deadline, the executor's SIGTERM.
      expect(r.wf.status?.phase, describeWorkflow(r.wf, c)).toBe('Failed');
      // v4.0.5 leaves the Workflow's own message empty; the step says why it stopped.
      const messages = [r.wf.status?.message ?? '', ...Object.values(r.wf.status?.nodes ?? {}).map((n) => n.message ?? '')].join('\n');
      expect(messages, describeWorkflow(r.wf, c)).toMatch(/deadline/i);
      expect(countMarks(r, 'cluster', 'slow-start')).toBe(1);
      expect(countMarks(r, 'cluster', 'slow-end')).toBe(0);
      // Then the local run, which must agree.
      expect(countMarks(r, 'local', 'slow-start')).toBe(1);
      expect(countMarks(r, 'local', 'slow-end')).toBe(0);
      expect(r.local.status).toBe('failed');
    },
    600_000,
  );

  it('memoization: a second submit with the same inputs is a cache hit and runs no pod', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'sluice-memo-'));
    onTestFinished(() => rmSync(scratch, { recursive: true, force: true }));
    const params = { marks: path.join(scratch, 'marks'), word: `w${Date.now()}` };
    const wf = parseManifest(sluiceCompile(ENTRY, ['--export', 'memo']));
    const first = await waitForWorkflow(kube, c.namespace, await submitWorkflow(kube, c.namespace, wf, params));
    expect(first.status?.phase, describeWorkflow(first, c)).toBe('Succeeded');
    const second = await waitForWorkflow(kube, c.namespace, await submitWorkflow(kube, c.namespace, wf, params));
    expect(second.status?.phase, describeWorkflow(second, c)).toBe('Succeeded');
    const stampOf = (w: Workflow) => Object.values(w.status?.nodes ?? {}).find((n) => n.templateName === 'stamp');
    expect(stampOf(first)?.memoizationStatus?.hit).toBe(false);
    expect(stampOf(second)?.memoizationStatus?.hit).toBe(true);
    expect(podNodes(second).filter((n) => n.templateName === 'stamp' && n.phase === 'Succeeded' && !n.memoizationStatus?.hit)).toEqual([]);
    expect(readdirSync(path.join(scratch, 'marks', 'stamp'))).toHaveLength(1);
    // The same outputs from the cache.
    const out = (w: Workflow) => w.status?.nodes?.[w.metadata.name]?.outputs?.parameters;
    expect(out(second)).toEqual(out(first));
    expect(out(first)?.[0]?.value).toContain(params.word.toUpperCase());
    // Locally: the same second run is cached too.
    const mod = (await import(path.resolve(ENTRY))) as Record<string, unknown>;
    const store = path.join(scratch, 'store');
    const local = { entry: path.resolve(ENTRY), exportName: 'memo', mode: 'process' as const, storeDir: store, params: { ...params, marks: path.join(scratch, 'local-marks') } };
    await runPipeline(mod['memo'] as unknown, local);
    const again = await runPipeline(mod['memo'] as unknown, local);
    expect(again.tasks['stamp']?.state).toBe('cached');
  }, 600_000);

  it('synchronization: three iterations holding one mutex never overlap, on both sides', async () => {
    const r = await both('mutexed');
    expect(r.local.status, r.localResult.error).toBe('succeeded');
    expect(r.wf.status?.phase, describeWorkflow(r.wf, c)).toBe('Succeeded');
    expect(maxOverlap(r, 'local')).toBe(1);
    expect(maxOverlap(r, 'cluster')).toBe(1);
  }, 600_000);

  it(
    'a pipeline with a required parameter compiles, declares it without a value, and runs with the value given at submit',
    async () => {
      const wf = parseManifest(sluiceCompile(ENTRY, ['--export', 'required']));
      const declared = ((wf.spec.arguments as { parameters?: { name: string; value?: string }[] } | undefined)?.parameters ?? []).find((p) => p.name === 'who');
      expect(declared).toEqual({ name: 'who' });
      const done = await waitForWorkflow(kube, c.namespace, await submitWorkflow(kube, c.namespace, wf, { who: 'at submit' }));
      expect(done.status?.phase, describeWorkflow(done, c)).toBe('Succeeded');
      const said = done.status?.nodes?.[done.metadata.name]?.outputs?.parameters?.find((p) => p.name === 'said');
      expect(normalizeValue(said?.value)).toBe(JSON.stringify('at submit'));
    },
    600_000,
  );

  it(
    'a checkpointed step whose first pod dies resumes from its checkpoint on the retry (kept in the artifact repository): finished epochs are not redone',
    async () => {
      const r = await both('checkpointed');
      expect(r.local.status, r.localResult.error).toBe('succeeded');
      expect(r.local.params).toEqual({ resumedFrom: '2', epochs: '4' });
      expect(r.wf.status?.phase, describeWorkflow(r.wf, c)).toBe('Succeeded');
      expect(attempts(r.wf, 'resumable')).toBe(2);
      expect(r.cluster.params).toEqual(r.local.params);
      // Every epoch trained exactly once over both attempts: the retry did not redo epochs 1 and 2.
      const epochs = (side: 'local' | 'cluster') => readMarks(r, side, 'epoch').map((m) => Number(m.split(' ')[0])).sort();
      expect(epochs('cluster')).toEqual([1, 2, 3, 4]);
      expect(epochs('local')).toEqual([1, 2, 3, 4]);
    },
    600_000,
  );
});
