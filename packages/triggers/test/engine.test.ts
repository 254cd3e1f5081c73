import { describe, expect, it } from 'vitest';
import { cond, dataArrival, monitor, schedule, trigger, upstream } from '../src/define.ts';
import { decide, initialState, runIdFor, type Decision, type Observation, type TriggerState } from '../src/engine.ts';
import type { TriggerIR } from '../src/ir.ts';
import { train } from './helpers.ts';

const T = (iso: string) => Date.parse(iso);

/** Drives the engine with a controllable clock; returns [kind, reason] rows. */
function drive(ir: TriggerIR, steps: readonly [string, Observation][], start: TriggerState = initialState()) {
  let st = start;
  const rows: [string, string, string][] = [];
  const all: Decision[] = [];
  for (const [at, obs] of steps) {
    const r = decide(ir, st, obs, T(at));
    st = r.state;
    for (const d of r.decisions) { rows.push([at, d.kind, d.reason]); all.push(d); }
    if (r.measure !== undefined) rows.push([at, 'measure', new Date(r.measure).toISOString()]);
  }
  return { rows, state: st, decisions: all };
}
const tick = { kind: 'tick' } as const;

const nightly = (cron: string, timezone: string, catchUp: string | number = '1h') =>
  trigger({ name: 'nightly', source: schedule({ cron, timezone, catchUp }), target: train, params: (e) => ({ source: 'd.csv', runDate: e.scheduledTime }), policy: { concurrency: 'allow' } }).ir;

describe('schedules', () => {
  it('the first tick only starts the clock; each cron tick fires once', () => {
    const { rows, decisions } = drive(nightly('0 3 * * *', 'Etc/UTC'), [
      ['2026-01-01T02:00:00Z', tick], ['2026-01-01T03:00:00Z', tick], ['2026-01-01T03:00:01Z', tick], ['2026-01-02T03:00:05Z', tick],
    ]);
    expect(rows).toEqual([['2026-01-01T03:00:00Z', 'fire', 'fire'], ['2026-01-02T03:00:05Z', 'fire', 'fire (concurrency allow; 1 already running)']]);
    expect(decisions[0]!.params).toEqual({ runDate: '2026-01-01T03:00:00.000Z', source: 'd.csv' });
    expect(decisions[0]!.dedupeKey).toBe('nightly|scheduledTime=2026-01-01T03:00:00.000Z');
    expect(decisions[0]!.runId).toBe(runIdFor('nightly', decisions[0]!.dedupeKey!));
    expect(decisions[0]!.runId).toMatch(/^nightly-[0-9a-f]{12}$/);
  });

  it("catch-up (Argo's rule): after downtime only the latest missed tick, and only within the window", () => {
    const ir = nightly('0 3 * * *', 'Etc/UTC', '1h');
    const down = drive(ir, [['2026-01-01T04:00:00Z', tick], ['2026-01-04T03:20:00Z', tick]]);
    expect(down.rows).toEqual([
      ['2026-01-04T03:20:00Z', 'skip', 'missed 2 earlier ticks from 2026-01-02T03:00:00.000Z (catch-up runs only the latest)'],
      ['2026-01-04T03:20:00Z', 'fire', 'fire'],
    ]);
    expect(down.decisions[1]!.event).toEqual({ scheduledTime: '2026-01-04T03:00:00.000Z', timezone: 'Etc/UTC' });
    const late = drive(ir, [['2026-01-01T04:00:00Z', tick], ['2026-01-02T05:00:00Z', tick]]);
    expect(late.rows).toEqual([['2026-01-02T05:00:00Z', 'skip', 'missed tick 2026-01-02T03:00:00.000Z: 2h late, outside the catch-up window of 1h']]);
  });

  it('Europe/Berlin: 02:30 on the spring-forward night fires at 03:00 CEST; on the fall-back night once', () => {
    const ir = nightly('30 2 * * *', 'Europe/Berlin', 0);
    const spring = drive(ir, [['2026-03-28T12:00:00Z', tick], ['2026-03-29T00:59:59Z', tick], ['2026-03-29T01:00:00Z', tick], ['2026-03-30T00:30:00Z', tick]]);
    expect(spring.decisions.map((d) => d.event?.scheduledTime)).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
    const fall = drive(ir, [['2026-10-24T12:00:00Z', tick], ['2026-10-25T00:30:00Z', tick], ['2026-10-25T01:30:00Z', tick], ['2026-10-26T01:30:00Z', tick]]);
    expect(fall.rows.map((r) => r.slice(0, 2))).toEqual([['2026-10-25T00:30:00Z', 'fire'], ['2026-10-26T01:30:00Z', 'fire']]);
  });

  it('Europe/Berlin hourly across fall-back: both 02:00s fire, with different dedupe keys', () => {
    const ir = nightly('0 * * * *', 'Europe/Berlin', 0);
    const r = drive(ir, [['2026-10-24T23:30:00Z', tick], ['2026-10-25T00:00:00Z', tick], ['2026-10-25T01:00:00Z', tick], ['2026-10-25T02:00:00Z', tick]]);
    expect(r.decisions.map((d) => [d.kind, d.event?.scheduledTime])).toEqual([
      ['fire', '2026-10-25T00:00:00.000Z'], ['fire', '2026-10-25T01:00:00.000Z'], ['fire', '2026-10-25T02:00:00.000Z'],
    ]);
    expect(new Set(r.decisions.map((d) => d.dedupeKey)).size).toBe(3);
  });

  it('America/New_York: spring-forward 02:30 fires at 03:00 EDT; fall-back 01:30 once, at its EDT occurrence', () => {
    const spring = drive(nightly('30 2 * * *', 'America/New_York', 0), [['2026-03-07T12:00:00Z', tick], ['2026-03-08T07:00:00Z', tick]]);
    expect(spring.decisions.map((d) => d.event?.scheduledTime)).toEqual(['2026-03-08T07:00:00.000Z']);
    const fall = drive(nightly('30 1 * * *', 'America/New_York', 0), [['2026-10-31T12:00:00Z', tick], ['2026-11-01T05:30:00Z', tick], ['2026-11-01T06:30:00Z', tick], ['2026-11-02T06:30:00Z', tick]]);
    expect(fall.decisions.map((d) => d.event?.scheduledTime)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });
});

const arrival = (policy: { cooldown?: string; concurrency?: 'allow' | 'skip' | 'queue' | 'replace'; maxFires?: { count: number; window: string } } = {}) =>
  trigger({
    name: 'arrival', source: dataArrival.directory('in', { pattern: '*.csv' }), target: train, params: (e) => ({ source: e.uri }),
    when: (e) => cond.gt(e.size, 0), policy,
  }).ir;
const file = (key: string, etag = 'e1', size = 10) => ({ kind: 'event', fields: { uri: `file:///in/${key}`, key, size, etag, time: '2026-01-01T00:00:00Z' } }) as const;

describe('policy rules', () => {
  it('condition and run-time mapping checks skip with the reason', () => {
    const ir = arrival({ concurrency: 'allow' });
    const r = drive(ir, [['2026-01-01T00:00:00Z', file('a.csv', 'e1', 0)], ['2026-01-01T00:00:01Z', { kind: 'event', fields: { uri: 7, key: 'b', size: 3, etag: 'x', time: 't' } }]]);
    expect(r.rows).toEqual([
      ['2026-01-01T00:00:00Z', 'skip', 'condition not met: size > 0'],
      ['2026-01-01T00:00:01Z', 'skip', 'mapping: params.source: expected string, got integer 7'],
    ]);
  });

  it('dedupe: the same object version fires once, a new version again', () => {
    const r = drive(arrival({ concurrency: 'allow' }), [
      ['2026-01-01T00:00:00Z', file('a.csv')], ['2026-01-01T00:01:00Z', file('a.csv')], ['2026-01-01T00:02:00Z', file('a.csv', 'e2')],
    ]);
    expect(r.rows.map((x) => x[1])).toEqual(['fire', 'suppress', 'fire']);
    expect(r.rows[1]![2]).toBe('duplicate: arrival|key=a.csv|etag=e1 already fired');
  });

  it('cooldown', () => {
    const r = drive(arrival({ cooldown: '10m', concurrency: 'allow' }), [
      ['2026-01-01T00:00:00Z', file('a.csv')], ['2026-01-01T00:09:59Z', file('b.csv')], ['2026-01-01T00:10:00Z', file('c.csv')],
    ]);
    expect(r.rows).toEqual([
      ['2026-01-01T00:00:00Z', 'fire', 'fire'],
      ['2026-01-01T00:09:59Z', 'suppress', 'cooldown: last fire 2026-01-01T00:00:00.000Z, next allowed 2026-01-01T00:10:00.000Z'],
      ['2026-01-01T00:10:00Z', 'fire', 'fire (concurrency allow; 1 already running)'],
    ]);
  });

  it('max fires per window', () => {
    const r = drive(arrival({ maxFires: { count: 2, window: '1h' }, concurrency: 'allow' }), [
      ['2026-01-01T00:00:00Z', file('a')], ['2026-01-01T00:10:00Z', file('b')], ['2026-01-01T00:20:00Z', file('c')], ['2026-01-01T01:00:00Z', file('d')],
    ]);
    expect(r.rows.map((x) => x.slice(1))).toEqual([
      ['fire', 'fire'], ['fire', 'fire (concurrency allow; 1 already running)'],
      ['suppress', 'max fires: 2 in the last 1h (limit 2)'], ['fire', 'fire (concurrency allow; 2 already running)'],
    ]);
  });

  it('concurrency skip, queue (released by run completion), replace', () => {
    const a = file('a'), b = file('b'), c = file('c');
    const skip = drive(arrival({ concurrency: 'skip' }), [['2026-01-01T00:00:00Z', a], ['2026-01-01T00:01:00Z', b]]);
    const first = skip.decisions[0]!.runId!;
    expect(skip.rows[1]!.slice(1)).toEqual(['suppress', `concurrency skip: ${first} still running`]);
    const q = drive(arrival({ concurrency: 'queue' }), [
      ['2026-01-01T00:00:00Z', a], ['2026-01-01T00:01:00Z', b], ['2026-01-01T00:02:00Z', c], ['2026-01-01T00:03:00Z', b],
      ['2026-01-01T00:05:00Z', { kind: 'run-finished', runId: first, status: 'succeeded' }],
    ]);
    expect(q.rows.map((x) => x.slice(1))).toEqual([
      ['fire', 'fire'], ['suppress', `queued behind ${first} (position 1)`], ['suppress', `queued behind ${first} (position 2)`],
      ['suppress', 'duplicate: arrival|key=b|etag=e1 already queued'],
      ['fire', `dequeued: ${first} succeeded, queued since 2026-01-01T00:01:00.000Z`],
    ]);
    expect(q.state.queue.map((x) => x.event.key)).toEqual(['c']);
    expect(q.state.running).toEqual([q.decisions[4]!.runId]);
    const rep = drive(arrival({ concurrency: 'replace' }), [['2026-01-01T00:00:00Z', a], ['2026-01-01T00:01:00Z', b]]);
    expect(rep.decisions[1]!.replaces).toEqual([first]);
    expect(rep.state.running).toEqual([rep.decisions[1]!.runId]);
  });

  it('upstream: only the named pipeline and statuses', () => {
    const ir = trigger({ name: 'after-ingest', source: upstream('ingest', { statuses: ['succeeded'] }), target: train, params: (e) => ({ source: e.runId }) }).ir;
    const ev = (pipeline: string, status: string, runId: string) => ({ kind: 'event', fields: { pipeline, runId, status, finishedAt: '2026-01-01T00:00:00Z' } }) as const;
    const r = drive(ir, [['2026-01-01T00:00:00Z', ev('other', 'succeeded', 'r1')], ['2026-01-01T00:00:01Z', ev('ingest', 'failed', 'r2')], ['2026-01-01T00:00:02Z', ev('ingest', 'succeeded', 'r3')]]);
    expect(r.rows.map((x) => x.slice(1))).toEqual([['skip', 'run of other, not ingest'], ['skip', 'upstream r2 failed; fires on succeeded'], ['fire', 'fire']]);
    expect(r.decisions[2]!.params).toEqual({ source: 'r3' });
  });
});

describe('monitors', () => {
  const driftIR = trigger({
    name: 'drift', target: train, params: (e) => ({ source: e.reference }),
    source: monitor.drift({ cron: '0 * * * *', timezone: 'Etc/UTC', catchUp: '10m', features: ['x'], threshold: 0.2, reference: { lineage: 'source' }, current: { path: 'c.csv', window: 500 } }),
    policy: { hysteresis: { high: 0.3, low: 0.1, evaluations: 2 }, concurrency: 'allow' },
  }).ir;
  const m = (hour: number, value: number | 'few', reference = 'ref-1'): Observation => ({
    kind: 'measurement', scheduledTime: T(`2026-01-01T${String(hour).padStart(2, '0')}:00:00Z`), reference,
    result: value === 'few' ? { kind: 'insufficient', n: 40, need: 176 } : { kind: 'value', value, n: 500, drifted: value >= 0.3 ? ['x'] : [] },
  });

  it('a tick asks for a measurement of that tick', () => {
    const r = drive(driftIR, [['2026-01-01T00:30:00Z', tick], ['2026-01-01T01:00:02Z', tick]]);
    expect(r.rows).toEqual([['2026-01-01T01:00:02Z', 'measure', '2026-01-01T01:00:00.000Z']]);
  });

  it('hysteresis: k evaluations at θ_hi to fire, then silent until below θ_lo', () => {
    const steps: [string, Observation][] = [[1, 'few'], [2, 0.35], [3, 0.25], [4, 0.35], [5, 0.4], [6, 0.5], [7, 0.2], [8, 0.05], [9, 0.31], [10, 0.32]].map(([h, v]) => [`2026-01-01T${String(h).padStart(2, '0')}:00:01Z`, m(h as number, v as number)]);
    const r = drive(driftIR, steps);
    expect(r.rows.map((x) => `${x[0].slice(11, 13)} ${x[1]}: ${x[2]}`)).toEqual([
      '01 skip: insufficient samples (40, need 176)',
      '02 skip: 0.35 ≥ 0.3 for 1 of 2 evaluations',
      '03 skip: 0.25 < 0.3: no drift',
      '04 skip: 0.35 ≥ 0.3 for 1 of 2 evaluations',
      '05 fire: fire',
      '06 skip: not re-armed since the last fire: 0.5 has not gone below 0.1',
      '07 skip: not re-armed since the last fire: 0.2 has not gone below 0.1',
      '08 skip: re-armed: 0.05 < 0.1',
      '09 skip: 0.31 ≥ 0.3 for 1 of 2 evaluations',
      '10 fire: fire (concurrency allow; 1 already running)',
    ]);
    expect(r.decisions[4]!.event).toEqual({ scheduledTime: '2026-01-01T05:00:00.000Z', value: 0.4, n: 500, threshold: 0.3, reference: 'ref-1', drifted: 'x', data: '', report: '' });
    expect(r.decisions[4]!.evidence).toMatchObject({ value: 0.4, n: 500, threshold: 0.3 });
  });

  it('a retrain advances the reference through lineage and re-arms the trigger', () => {
    const r = drive(driftIR, [
      ['2026-01-01T01:00:01Z', m(1, 0.4)], ['2026-01-01T02:00:01Z', m(2, 0.4)], ['2026-01-01T03:00:01Z', m(3, 0.4)],
      ['2026-01-01T04:00:01Z', m(4, 0.4, 'ref-2')], ['2026-01-01T05:00:01Z', m(5, 0.4, 'ref-2')],
    ]);
    expect(r.rows.map((x) => x[1])).toEqual(['skip', 'fire', 'skip', 'skip', 'fire']);
    expect(r.decisions[3]!.evidence.rearmed).toBe('reference advanced from ref-1');
  });

  it('a falling metric (accuracy) fires when it drops to the high threshold', () => {
    const ir = trigger({
      name: 'acc', target: train, params: () => ({ source: 'd.csv' }),
      source: monitor.metric({ cron: '0 * * * *', timezone: 'Etc/UTC', pipeline: train, output: 'accuracy', direction: 'below' }),
      policy: { hysteresis: { high: 0.8, low: 0.9 }, dedupe: ['scheduledTime'] },
    }).ir;
    const mm = (h: number, value: number) => [`2026-01-01T0${h}:00:01Z`, { kind: 'measurement', scheduledTime: T(`2026-01-01T0${h}:00:00Z`), reference: 'run-1', result: { kind: 'value', value, n: 1 } }] as [string, Observation];
    const r = drive(ir, [mm(1, 0.95), mm(2, 0.79), mm(3, 0.85), mm(4, 0.91), mm(5, 0.7)]);
    expect(r.rows.map((x) => `${x[1]}: ${x[2]}`)).toEqual([
      'skip: 0.95 > 0.8: no crossing', 'fire: fire', 'skip: not re-armed since the last fire: 0.85 has not gone above 0.9', 'skip: re-armed: 0.91 > 0.9', 'suppress: concurrency skip: ' + r.decisions[1]!.runId + ' still running',
    ]);
  });
});
