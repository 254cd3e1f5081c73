/** The embedded tracking store and registry: idempotent ingest, versions, gated aliases, rollback. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkEvent, openEmbeddedRegistry, openTrackingStore, parseEvents, TrackingWriter, trackingLog } from '../src/index.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'sluice-tracking-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const v = (n: number, accuracy: number, evalData = ['e']) => ({ name: 'iris', runId: `run-${n}`, taskKey: 'promote', artifactHash: `h${n}`, artifactUri: `file:///m${n}`, metrics: { accuracy }, trainData: [`t${n}`], evalData });

describe('events', () => {
  it('validates names and values at the edge', () => {
    expect(() => checkEvent({ kind: 'metric', name: 'loss', value: Number.NaN, step: 0, time: 1 })).toThrow('metric "loss": expected a finite number, got NaN');
    expect(() => checkEvent({ kind: 'metric', name: 'a\nb', value: 1, step: 0, time: 1 })).toThrow('metric name "a\\nb" is not valid');
    expect(() => checkEvent({ kind: 'metric', name: 'x', value: 1, step: -1, time: 1 })).toThrow('step must be a non-negative integer, got -1');
    expect(() => checkEvent({ kind: 'param', name: 'p', value: 'x'.repeat(6001) })).toThrow('value has 6001 characters, at most 6000 are kept');
  });
  it('a step writes every metric with its step; a torn last line is ignored', () => {
    const d = tmp();
    const w = new TrackingWriter(d);
    const log = trackingLog(w, () => 1000);
    for (let i = 0; i < 300; i++) log.metric('loss', 1 / (i + 1));
    log.metric('acc', 0.5, { step: 7 });
    log.param('lr', 0.1);
    w.flush();
    const events = parseEvents(`${readFileSync(w.file, 'utf8')}{"kind":"met`);
    expect(events.filter((e) => e.kind === 'metric' && e.name === 'loss').map((e) => (e as { step: number }).step)).toEqual([...Array(300).keys()]);
    expect(events.find((e) => e.kind === 'metric' && e.name === 'acc')).toMatchObject({ step: 7, value: 0.5 });
    expect(events.at(-1)).toEqual({ kind: 'param', name: 'lr', value: '0.1' });
  });
});

describe('embedded store', () => {
  it('ingesting the same attempt twice keeps one copy of each point', async () => {
    const t = await openTrackingStore(tmp());
    const ev = [{ kind: 'metric' as const, name: 'loss', value: 0.5, step: 0, time: 1 }, { kind: 'metric' as const, name: 'loss', value: 0.4, step: 1, time: 2 }, { kind: 'param' as const, name: 'lr', value: '0.1' }];
    t.ingest('r1', 'train', 1, ev);
    t.ingest('r1', 'train', 1, ev);
    expect(t.metrics('r1').map((m) => [m.step, m.value])).toEqual([[0, 0.5], [1, 0.4]]);
    expect(t.params('r1')).toEqual([{ taskKey: 'train', name: 'lr', value: '0.1' }]);
    t.close();
  });
});

describe('embedded registry', () => {
  it('registers versions once per artifact, promotes through the gate, records every decision, rolls back', async () => {
    const dir = tmp();
    const r = await openEmbeddedRegistry(dir);
    const gate = { metric: 'accuracy', min: 0.9 };
    const v1 = await r.register(v(1, 0.93));
    expect((await r.register(v(1, 0.93))).version).toBe(1); // a retried step: same version
    expect((await r.promote({ name: 'iris', alias: 'champion', challenger: v1, gate })).promoted).toBe(true);

    const worse = await r.register(v(2, 0.91));
    const p2 = await r.promote({ name: 'iris', alias: 'champion', challenger: worse, gate });
    expect(p2).toMatchObject({ promoted: false, holder: 1 });
    expect(p2.decision.reasons).toEqual(['accuracy 0.91 vs 0.93 of version 1: worse by 0.02']);

    const better = await r.register(v(3, 0.97));
    expect((await r.promote({ name: 'iris', alias: 'champion', challenger: better, gate })).promoted).toBe(true);
    expect((await r.byAlias('iris', 'champion'))?.version).toBe(3);
    expect((await r.byAlias('iris', 'champion'))?.aliases).toEqual(['champion']);

    expect(await r.rollback('iris', 'champion')).toEqual({ from: 3, to: 1 });
    expect((await r.byAlias('iris', 'champion'))?.version).toBe(1);
    await expect(r.rollback('iris', 'champion')).rejects.toThrow('version 1 of "iris" was the first to hold "champion": there is no previous holder to roll back to');
    r.close();

    const t = await openTrackingStore(dir, { readonly: true });
    expect(t.decisions('iris').map((d) => [d.challenger, d.holder, d.passed])).toEqual([[1, null, true], [2, 1, false], [3, 1, true]]);
    expect(t.aliasHistory('iris', 'champion').map((h) => [h.version, h.previous, h.why])).toEqual([[1, null, 'promote'], [3, 1, 'promote'], [1, 3, 'rollback']]);
    t.close();
  });

  it('moves an alias only when it is still held by the expected version (compare-and-swap)', async () => {
    const t = await openTrackingStore(tmp());
    t.registerVersion(v(1, 0.9));
    t.registerVersion(v(2, 0.95));
    expect(t.moveAlias('iris', 'champion', 1, null, 'promote', null)).toBe(true);
    expect(t.moveAlias('iris', 'champion', 2, null, 'promote', null)).toBe(false); // someone else moved it first
    expect(t.byAlias('iris', 'champion')?.version).toBe(1);
    t.close();
  });
});
