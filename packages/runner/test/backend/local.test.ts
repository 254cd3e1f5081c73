/**
 * The local backend through its interface (what the cluster backend implements too) and through
 * the CLI that prints it: views as plain data in DAG and natural order, counts, `latest`, filters,
 * logs with attempt markers, lineage over recorded edges, stop and retry, store discovery.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backend/local.ts';
import { locateStore } from '../../src/backend/location.ts';
import type { RunBackend, RunOutcome } from '../../src/backend/backend.ts';
import type { LogEntry, RunView } from '../../src/backend/views.ts';
import { StateStore } from '../../src/store/state.ts';

const ENTRY = join(import.meta.dirname, 'fixtures', 'views.ts');
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'sluice.mjs');

function sluice(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1', SLUICE_STORE: '', ...env }, timeout: 90_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('LocalBackend (the RunBackend contract, locally)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-backend-'));
  const store = join(dir, 'project', '.sluice');
  let backend: RunBackend;
  let first: RunOutcome;
  let view: RunView;

  beforeAll(async () => {
    mkdirSync(join(dir, 'project', 'src', 'deep'), { recursive: true });
    backend = new LocalBackend(store);
    first = await backend.submit({ file: ENTRY }, { mode: 'inprocess' } as never);
    view = await backend.getRun('latest');
  }, 120_000);

  it('runs a pipeline file and names the run with its backend', () => {
    expect(first.status).toBe('succeeded');
    expect(first.ref).toEqual({ backend: 'local', store, id: first.id });
    expect(view.id).toBe(first.id);
  });

  it('shows tasks in DAG order, loop iterations by index, and artifacts in natural order', () => {
    const keys = view.tasks.map((t) => t.key);
    expect(keys.indexOf('seed')).toBe(0);
    const iters = keys.filter((k) => k.startsWith('parts['));
    expect(iters).toEqual(Array.from({ length: 12 }, (_, i) => `parts[${i}]/part`));
    expect(keys.indexOf('parts')).toBeLessThan(keys.indexOf('parts[0]/part'));
    expect(keys.indexOf('parts[11]/part')).toBeLessThan(keys.indexOf('merge'));
    expect(keys.indexOf('copy')).toBeLessThan(keys.indexOf('both'));
    const arts = view.artifacts.map((a) => a.name).filter((n) => n.startsWith('parts['));
    expect(arts.slice(0, 3)).toEqual(['parts[0]/part.data', 'parts[1]/part.data', 'parts[2]/part.data']);
    expect(arts.indexOf('parts[2]/part.data')).toBeLessThan(arts.indexOf('parts[10]/part.data'));
  });

  it('counts a skipped branch as skipped, not as missing: "17 done, 1 skipped"', async () => {
    expect(view.counts).toMatchObject({ total: 18, succeeded: 17, skipped: 1, failed: 0, pending: 0 });
    expect(view.progress).toBe('17 done, 1 skipped');
    const [summary] = await backend.listRuns();
    expect(summary?.progress).toBe('17 done, 1 skipped');
  });

  it('returns plain data: ISO times, parsed params and outputs, attempts, cache state', () => {
    expect(view.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(view.params).toEqual({ go: false });
    const flaky = view.tasks.find((t) => t.key === 'flaky');
    expect(flaky?.attempts.map((a) => [a.n, a.outcome])).toEqual([[1, 'failed'], [2, 'succeeded']]);
    expect(flaky?.attempts[0]?.message).toContain('first attempt fails');
    expect(view.tasks.find((t) => t.key === 'seed')?.cache).toEqual({ status: 'miss', reason: 'first run of this task' });
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });

  it('records who consumed each artifact (edges, not hashes)', () => {
    const seedData = view.artifacts.find((a) => a.name === 'seed.data');
    expect(seedData?.consumers).toEqual([...Array.from({ length: 12 }, (_, i) => `parts[${i}]/part.data`), 'copy.data', 'both.a']);
    expect(view.artifacts.find((a) => a.name === 'copy.data')?.consumers).toEqual(['both.b']);
    // copy wrote the same bytes as seed: same hash, two producers
    expect(view.artifacts.find((a) => a.name === 'copy.data')?.hash).toBe(seedData?.hash);
  });

  it('walks lineage over recorded edges: identical bytes of two tasks are never confused, and a producer is expanded once', async () => {
    const l = await backend.lineage('both.data', { run: 'latest' });
    expect(l.producedBy?.task).toBe('both');
    const [a, b] = l.inputs;
    expect(a?.name).toBe('a');
    expect(a?.lineage.producedBy?.task).toBe('seed');
    expect(b?.lineage.producedBy?.task).toBe('copy');
    expect(b?.lineage.inputs[0]?.lineage.producedBy?.task).toBe('seed');
    expect(b?.lineage.inputs[0]?.lineage.repeated).toBe(true);
    const c = await backend.lineage('copy.data');
    expect(c.producedBy?.task).toBe('copy');
    expect(c.inputs.map((i) => [i.name, i.lineage.producedBy?.task])).toEqual([['data', 'seed']]);
    const m = await backend.lineage('merge.data');
    expect(m.inputs.map((i) => i.name)).toEqual(Array.from({ length: 12 }, (_, i) => `parts[${i}]`));
    expect(m.inputs.map((i) => i.lineage.producedBy?.task)).toEqual(Array.from({ length: 12 }, (_, i) => `parts[${i}]/part`));
  });

  it('gives logs with a marker where each attempt starts, and names the real task keys for an unknown one', async () => {
    const entries = await collect(backend.logs('latest', { task: 'flaky' }));
    expect(entries.filter((e) => e.kind === 'attempt').map((e) => (e.kind === 'attempt' ? e.attempt : 0))).toEqual([1, 2]);
    const text = entries.map((e) => (e.kind === 'text' ? e.text : `#${e.attempt}\n`)).join('');
    expect(text).toMatch(/#1\n(.*\n)*.*attempt 1 says hello\n(.*\n)*#2\n(.*\n)*.*attempt 2 says hello/);
    await expect(collect(backend.logs('latest', { task: 'part' }))).rejects.toThrow(/has no task "part"; its tasks: both, copy, flaky, merge, parts\[0\]\/part, parts\[1\]\/part/);
  });

  it('filters runs by status and pipeline, and refuses to retry a succeeded run', async () => {
    expect((await backend.listRuns({ status: 'failed' })).length).toBe(0);
    expect((await backend.listRuns({ pipeline: 'views' })).map((r) => r.id)).toEqual([first.id]);
    expect((await backend.listRuns({ pipeline: 'other' })).length).toBe(0);
    await expect(backend.retry('latest')).rejects.toThrow(/succeeded: nothing to retry/);
  });

  it('stop records a run whose driver is gone as interrupted, so readers stop waiting', async () => {
    const s = StateStore.open(join(store, 'state.db'));
    s.createRun({ id: 'ghost-1', pipeline: 'ghost', irHash: 'x', ir: '{}', params: '{}', entry: null, exportName: null, mode: 'process', gitCommit: null, gitDirty: null, now: Date.now() + 1000 });
    s.acquireLease('ghost-1', 'h', Date.now());
    s.db.prepare(`UPDATE leases SET pid = 2147483646 WHERE run_id = 'ghost-1'`).run();
    s.close();
    const before = await backend.getRun('ghost-1');
    expect(before).toMatchObject({ status: 'running', orphaned: true, driver: { alive: false } });
    expect((await backend.listRuns({ status: 'running' })).map((r) => r.id)).toEqual(['ghost-1']);
    const r = await backend.stop('ghost-1');
    expect(r).toMatchObject({ action: 'marked', status: 'interrupted' });
    expect((await backend.getRun('ghost-1')).status).toBe('interrupted');
    expect((await backend.stop('ghost-1')).action).toBe('finished');
  });

  it('the CLI finds the store from a subdirectory and through SLUICE_STORE, and prints parsed JSON', () => {
    const sub = join(dir, 'project', 'src', 'deep');
    const runs = sluice(sub, {}, 'runs', '--pipeline', 'views', '--json');
    expect(runs.code, runs.err).toBe(0);
    const list = JSON.parse(runs.out) as { id: string; createdAt: string; counts: { skipped: number }; progress: string }[];
    expect(list.map((r) => r.id)).toEqual([first.id]);
    expect(list[0]?.createdAt).toMatch(/Z$/);
    expect(list[0]?.progress).toBe('17 done, 1 skipped');
    const elsewhere = mkdtempSync(join(tmpdir(), 'sluice-elsewhere-'));
    const viaEnv = sluice(elsewhere, { SLUICE_STORE: store }, 'show', 'latest:views');
    expect(viaEnv.code, viaEnv.err).toBe(0);
    expect(viaEnv.out).toContain(`run       ${first.id}`);
    expect(viaEnv.out).toContain('tasks     17 done, 1 skipped');
    expect(viaEnv.out).toMatch(/parts\[1\]\/part\.data .*\n(.*\n)*  parts\[10\]\/part\.data/);
    const logs = sluice(sub, {}, 'logs', first.id, 'flaky');
    expect(logs.out).toMatch(/── attempt 1 · started \d{4}-\d\d-\d\dT[\d:.]+Z ──\n(.*\n)*── attempt 2 · started/);
    const bad = sluice(sub, {}, 'logs', first.id, 'nope');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('has no task "nope"; its tasks: both, copy, flaky, merge, parts[0]/part');
    const limit = sluice(sub, {}, 'runs', '--limit', 'abc');
    expect(limit.code).toBe(2);
    expect(limit.err).toContain("argument 'abc' is invalid. expected a whole number of at least 1.");
    expect(sluice(sub, {}, 'lineage', 'both.data', '--run', 'latest:views', '--json').out).toContain('"task": "copy"');
  });

  it('the tracking verbs find the store as every verb does, take latest, and make no store where none is', () => {
    const sub = join(dir, 'project', 'src', 'deep');
    const compare = sluice(sub, {}, 'compare', 'latest', first.id, '--json');
    expect(compare.code, compare.err).toBe(0);
    expect(compare.out).toContain(first.id);
    const metrics = sluice(sub, {}, 'metrics', 'latest:views', '--json');
    expect(metrics.code, metrics.err).toBe(0);
    const elsewhere = mkdtempSync(join(tmpdir(), 'sluice-elsewhere-'));
    const models = sluice(elsewhere, { SLUICE_STORE: store }, 'models', 'list', '--json');
    expect(models.code, models.err).toBe(0);
    // where nothing has run, a read verb says so and writes nothing (the registry was made before)
    for (const args of [['models', 'list'], ['models', 'show', 'iris'], ['metrics', 'latest'], ['cat', 'abc']]) {
      const none = sluice(elsewhere, {}, ...args);
      expect(none.code, args.join(' ')).toBe(2);
      expect(none.err, args.join(' ')).toMatch(/^sluice: no Sluice state at .*state\.db: nothing has run here yet$/m);
      expect(existsSync(join(elsewhere, '.sluice')), args.join(' ')).toBe(false);
    }
  });
});

describe('locateStore', () => {
  it('takes --store, then SLUICE_STORE, then the nearest .sluice/ with state above the working directory, then ./.sluice', () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-locate-'));
    const deep = join(root, 'a', 'b');
    mkdirSync(deep, { recursive: true });
    expect(locateStore({ cwd: deep, env: {} })).toEqual({ root: join(deep, '.sluice'), how: 'default' });
    StateStore.open(join(root, '.sluice', 'state.db')).close();
    expect(locateStore({ cwd: deep, env: {} })).toEqual({ root: join(root, '.sluice'), how: 'found' });
    expect(locateStore({ cwd: deep, env: { SLUICE_STORE: '/x/y' } })).toEqual({ root: '/x/y', how: 'env' });
    expect(locateStore({ cwd: deep, env: { SLUICE_STORE: '/x/y' }, flag: 'here' })).toEqual({ root: join(deep, 'here'), how: 'flag' });
    expect(() => locateStore({ cwd: deep, flag: '' })).toThrow(/--store needs a directory/);
  });
});
