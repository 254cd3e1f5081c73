import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline } from '@sluice/runner';
import { StateStore } from '../../runner/src/store/state.ts';
import { cond, dataArrival, monitor, schedule, trigger, upstream } from '../src/define.ts';
import { Daemon } from '../src/local/daemon.ts';
import { ingest, report, tracked, train } from './helpers.ts';

const root = resolve(import.meta.dirname, '../../..');
const bin = join(root, 'packages/runner/bin/sluice.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'sluice-triggers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const deps = { runPipeline, ensureStore: (db: string) => StateStore.open(db).close() };

function sluice(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env, CI: '' }, encoding: 'utf8', timeout: 60_000 });
}

function counts(storeDir: string) {
  const db = new Database(join(storeDir, 'state.db'), { readonly: true });
  try {
    return {
      runs: db.prepare(`SELECT id, status FROM runs WHERE pipeline = 'train' ORDER BY id`).all() as { id: string; status: string }[],
      fires: db.prepare(`SELECT dedupe_key, run_id, status, run_status FROM trigger_fires ORDER BY dedupe_key`).all() as { dedupe_key: string; run_id: string; status: string; run_status: string | null }[],
    };
  } finally {
    db.close();
  }
}

describe('local daemon', () => {
  it('fires once per landed file, records decisions, and feeds run completion back to the engine', async () => {
    const dir = join(tmp, 'basic');
    mkdirSync(join(dir, 'in'), { recursive: true });
    writeFileSync(join(dir, 'in', 'a.csv'), 'x\n1\n');
    const t = trigger({ name: 'arrivals', source: dataArrival.directory(join(dir, 'in'), { pattern: '*.csv' }), target: train, params: (e) => ({ source: e.uri }) });
    const after = trigger({ name: 'after-train', source: upstream(train), target: ingest, params: () => ({ data: join(dir, 'in', 'a.csv') }) });
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const d = new Daemon([t, after], deps, { storeDir: join(dir, '.sluice'), now: () => clock });
    await d.start();
    d.tick();
    expect(d.running).toBe(1);
    await d.drain();
    clock += 1000;
    d.tick(); // the same file again: nothing new; the finished train run is announced to upstream triggers
    await d.drain();
    writeFileSync(join(dir, 'in', 'b.txt'), 'ignored');
    d.tick();
    expect(d.running).toBe(0);
    const arr = d.store.decisions('arrivals');
    const aft = d.store.decisions('after-train');
    await d.close();
    expect(arr.map((x) => x.kind)).toEqual(['fire']);
    expect(aft.map((x) => `${x.kind}: ${x.reason}`)).toEqual(['fire: fire', 'skip: run of ingest, not train']);
    expect(JSON.parse(aft[0]!.event!)).toMatchObject({ pipeline: 'train', runId: arr[0]!.run_id, status: 'succeeded' });
    const c = counts(join(dir, '.sluice'));
    expect(c.runs).toEqual([{ id: arr[0]!.run_id, status: 'succeeded' }]);
    expect(c.fires.map((f) => [f.status, f.run_status])).toEqual([['finished', 'succeeded'], ['finished', 'succeeded']]);
  });

  it("the upstream-finished envelope carries the run's outputs, mapped to the target's typed parameters", async () => {
    const storeDir = join(tmp, 'outputs', '.sluice');
    const after = trigger({
      name: 'after-train', source: upstream(train), target: report, params: (e) => ({ accuracy: e.outputs.accuracy, run: e.runId }),
      when: (e) => cond.ge(e.outputs.accuracy, 0.6),
    });
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const d = new Daemon([after], deps, { storeDir, now: () => clock });
    await d.start();
    try {
      clock += 1000;
      const low = await runPipeline(train, { storeDir, mode: 'inprocess', params: { source: 'a.csv', lr: 0.05 } });
      const high = await runPipeline(train, { storeDir, mode: 'inprocess', params: { source: 'a.csv', lr: 0.3 } });
      clock += 1000;
      await d.tick();
      await d.drain();
      const decided = d.store.decisions('after-train');
      expect(decided.map((x) => [x.kind, x.reason])).toEqual([['skip', 'condition not met: outputs.accuracy >= 0.6'], ['fire', 'fire']]);
      expect(decided.map((x) => JSON.parse(x.event!).outputs)).toEqual([{ accuracy: 0.55 }, { accuracy: 0.8 }]);
      expect(JSON.parse(decided[1]!.event!)).toEqual({ pipeline: 'train', runId: high.runId, status: 'succeeded', finishedAt: expect.stringMatching(/Z$/), outputs: { accuracy: 0.8 } });
      expect(low.runId).not.toBe(high.runId);
      const fired = counts(storeDir);
      expect(fired.fires.map((f) => f.run_status)).toEqual(['succeeded']);
      const db = new Database(join(storeDir, 'state.db'), { readonly: true });
      try {
        expect(JSON.parse((db.prepare(`SELECT params FROM runs WHERE pipeline = 'report'`).get() as { params: string }).params)).toEqual({ accuracy: 0.8, run: high.runId });
      } finally { db.close(); }
    } finally {
      await d.close();
    }
  });

  it('a metric monitor reads the target’s last successful run from the store and fires when it falls', async () => {
    const storeDir = join(tmp, 'metric', '.sluice');
    const first = await runPipeline(train, { storeDir, mode: 'inprocess', params: { source: 'a.csv', lr: 0.2 } });
    expect(first.outputs.accuracy).toBeCloseTo(0.7, 12);
    const t = trigger({
      name: 'accuracy', target: train, params: (e) => ({ source: e.reference, lr: 0.4 }),
      source: monitor.metric({ cron: '*/10 * * * *', timezone: 'Etc/UTC', pipeline: train, output: 'accuracy', direction: 'below' }),
      policy: { hysteresis: { high: 0.8, low: 0.85 }, concurrency: 'allow' },
    });
    let clock = Date.parse('2026-01-01T00:05:00Z');
    const d = new Daemon([t], deps, { storeDir, now: () => clock });
    await d.start();
    d.tick();
    clock = Date.parse('2026-01-01T00:10:01Z');
    d.tick();
    await d.drain();
    clock = Date.parse('2026-01-01T00:20:01Z');
    d.tick(); // the retrain (lr 0.4) reached 0.9: a new reference, above the re-arm threshold
    await d.drain();
    const decided = d.store.decisions('accuracy');
    await d.close();
    expect(decided.map((x) => `${x.kind}: ${x.reason}`)).toEqual(['fire: fire', 'skip: 0.9 > 0.8: no crossing']);
    expect(JSON.parse(decided[0]!.evidence)).toMatchObject({ value: 0.7, statistic: 'accuracy', run: first.runId, threshold: 0.8 });
    // the retrain is the new reference, which re-armed the trigger
    expect(JSON.parse(decided[1]!.evidence)).toMatchObject({ value: 0.9, reference: decided[0]!.run_id, rearmed: `reference advanced from ${first.runId}` });
    const runs = counts(storeDir).runs;
    expect(runs).toHaveLength(2);
  });

  it('a metric monitor also reads a metric the run logged (its last step) when the pipeline has no such output', async () => {
    const storeDir = join(tmp, 'logged', '.sluice');
    const first = await runPipeline(tracked, { storeDir, mode: 'inprocess', params: { lr: 0.1 } });
    expect(first.status).toBe('succeeded');
    const t = trigger({
      name: 'val-acc', target: tracked, params: () => ({ lr: 0.3 }),
      source: monitor.metric({ cron: '*/10 * * * *', timezone: 'Etc/UTC', pipeline: tracked, output: 'val_accuracy', direction: 'below' }),
      policy: { hysteresis: { high: 0.8, low: 0.85 } },
    });
    let clock = Date.parse('2026-01-01T00:05:00Z');
    const d = new Daemon([t], deps, { storeDir, now: () => clock });
    await d.start();
    try {
      await d.tick();
      clock = Date.parse('2026-01-01T00:10:01Z');
      await d.tick();
      await d.drain();
      const [fire] = d.store.decisions('val-acc');
      expect([fire!.kind, fire!.reason]).toEqual(['fire', 'fire']);
      // steps 0, 1, 2 logged 0.5, 0.6, 0.7: the last step's value
      expect(JSON.parse(fire!.evidence)).toMatchObject({ value: 0.7, statistic: 'val_accuracy', run: first.runId, metric: 'fit-logged/val_accuracy', step: 2 });
    } finally {
      await d.close();
    }
  });

  it('a webhook takes a JSON object of at most 1 MiB (Argo Events\' default), refuses the rest with a status, and keeps serving', async () => {
    const storeDir = join(tmp, 'hook', '.sluice');
    const source = dataArrival.webhook({ endpoint: '/new-data', fields: { uri: 'string' } });
    // no default dedupe key for a webhook: said as such (before: 'unknown field "key"', a field the user never named)
    expect(() => trigger({ name: 'on-data', source, target: train, params: (e) => ({ source: e.uri }) })).toThrow(/on-data\/policy\.dedupe: a webhook trigger has no default dedupe key: give policy\.dedupe, the fields that identify one call \(its events carry time, uri\)/);
    const t = trigger({ name: 'on-data', source, target: train, params: (e) => ({ source: e.uri }), policy: { dedupe: ['uri'], concurrency: 'allow' } });
    const d = new Daemon([t], deps, { storeDir, port: 0 });
    await d.start();
    try {
      const post = async (body: string | Buffer, path = '/new-data', method = 'POST') => {
        const r = await fetch(`http://127.0.0.1:${d.port}${path}`, { method, ...(method === 'GET' ? {} : { body: new Uint8Array(Buffer.from(body)) }), headers: { 'content-type': 'application/json' } });
        return { status: r.status, text: await r.text() };
      };
      // over the limit: refused (before, the daemon held any body whole in memory, 600 MiB for a 600 MiB call, and answered 400 once it had it)
      const big = await post(Buffer.alloc(1_048_577, 0x20));
      expect(big.status).toBe(413);
      expect(big.text).toBe("body of 1048577 bytes is larger than 1048576 (the largest Argo Events' webhook takes by default)\n");
      expect((await post('{"uri": ')).status).toBe(400);
      expect((await post('[1]')).text).toBe('body must be a JSON object\n');
      expect((await post('{}', '/other')).status).toBe(404);
      expect((await post('', '/new-data', 'GET')).status).toBe(404);
      // at the limit, and an ordinary call: taken
      const padded = JSON.stringify({ uri: 'in/a.csv', pad: ' '.repeat(1_048_576 - 27) });
      expect(Buffer.byteLength(padded)).toBe(1_048_576);
      expect((await post(padded)).status).toBe(202);
      expect(await post(JSON.stringify({ uri: 'in/b.csv' }))).toEqual({ status: 202, text: '{"accepted":["on-data"]}\n' });
      d.tick();
      await d.drain();
      expect(d.store.decisions('on-data').map((x) => [x.kind, JSON.parse(x.event!).uri])).toEqual([['fire', 'in/a.csv'], ['fire', 'in/b.csv']]);
    } finally {
      await d.close();
    }
  });

  it('one daemon per store', async () => {
    const storeDir = join(tmp, 'lease', '.sluice');
    const t = trigger({ name: 'nightly', source: schedule({ cron: '0 3 * * *', timezone: 'Etc/UTC' }), target: train, params: () => ({ source: 'x' }) });
    const a = new Daemon([t], deps, { storeDir });
    await a.start();
    const b = new Daemon([t], deps, { storeDir });
    await expect(b.start()).rejects.toThrow(/^another trigger daemon \(pid \d+ on .+, since .+\) serves this store; stop it first$/);
    b.store.close();
    await a.close();
    const c = new Daemon([t], deps, { storeDir });
    await c.start();
    await c.close();
  });

  for (const point of ['triggers.reserved', 'triggers.launched'] as const) {
    it(`SIGKILL at ${point}, then restart: exactly one run per dedupe key`, () => {
      const dir = join(tmp, point);
      const incoming = join(dir, 'incoming');
      mkdirSync(incoming, { recursive: true });
      writeFileSync(join(incoming, 'day1.csv'), 'x\n1\n');
      writeFileSync(join(incoming, 'day2.csv'), 'x\n2\n');
      const store = join(dir, '.sluice');
      const args = ['triggers', 'serve', '-f', 'packages/triggers/test/fixtures/crash-triggers.ts', '--store', store, '--tick', '50', '--until-idle'];
      const env = { TRIGGERS_TEST_DIR: incoming };
      const killed = sluice(args, { ...env, SLUICE_CRASH_AT: `${point}:1` });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      const mid = counts(store);
      expect(mid.fires.length).toBeGreaterThanOrEqual(1);
      expect(mid.fires.every((f) => f.status === 'reserved')).toBe(true);
      // reserve commits before launch; launch creates the run before the fire is marked
      expect(mid.runs.length).toBe(point === 'triggers.reserved' ? 0 : 1);
      const again = sluice(args, env);
      expect(again.status, again.stderr + again.stdout).toBe(0);
      expect(again.stdout).toMatch(point === 'triggers.reserved' ? /recover: arrivals-[0-9a-f]{12} was reserved but not started: launching/ : /recover: arrivals-[0-9a-f]{12} was left running: resuming/);
      const end = counts(store);
      expect(end.fires).toHaveLength(2);
      expect(new Set(end.fires.map((f) => f.dedupe_key)).size).toBe(2);
      expect(end.runs.map((r) => r.id).sort()).toEqual(end.fires.map((f) => f.run_id).sort());
      expect(end.runs.every((r) => r.status === 'succeeded')).toBe(true);
      expect(end.fires.every((f) => f.status === 'finished' && f.run_status === 'succeeded')).toBe(true);
      // a third start finds nothing to do
      const third = sluice(args, env);
      expect(third.status).toBe(0);
      expect(counts(store).runs).toHaveLength(2);
      expect(readFileSync(join(store, 'state.db')).length).toBeGreaterThan(0);
    });
  }
});
