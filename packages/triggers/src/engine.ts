/**
 * The one decision engine: `decide(trigger, state, observation, now) -> { state, decisions }`. Pure
 * (no clock, no I/O): the local daemon, the cluster gate step and replay all call it, so a trigger
 * means the same thing in each. Every decision is fire, suppress (it would fire but the policy says
 * no) or skip (the observation does not qualify), with a reason and its evidence.
 */
import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import type { JsonValue } from '@sluice/sdk';
import { fieldsOf, type ConditionIR, type FieldType, type TriggerIR } from './ir.ts';

export const STATE_VERSION = 1 as const;

export interface QueuedFire { readonly dedupeKey: string; readonly runId: string; readonly params: { readonly [k: string]: JsonValue }; readonly event: EventFields; readonly at: number }

/** What the engine remembers about one trigger between observations (plain JSON; stored by the daemon). */
export interface TriggerState {
  readonly version: typeof STATE_VERSION;
  /** Schedules and monitors: ticks up to this time (ms) are handled. null: not started (the first tick sets it). */
  readonly cursor: number | null;
  readonly lastFireAt: number | null;
  /** Fire times still inside the max-fires window. */
  readonly fires: readonly number[];
  /** The most recent dedupe keys (the store's UNIQUE key is the real guard; these make replay and the gate agree). */
  readonly recentKeys: readonly string[];
  /** Runs this trigger started that have not finished. */
  readonly running: readonly string[];
  readonly queue: readonly QueuedFire[];
  /** Monitors: whether a crossing may fire (false after a fire until the value goes below `low` or the reference advances). */
  readonly armed: boolean;
  /** Monitors: evaluations in a row at or above `high`. */
  readonly streak: number;
  /** Monitors: the reference the last measurement used. */
  readonly reference: string | null;
  /** Cluster gate, lineage drift checks: the reference parameter of the last fired run (locally the run store says it). */
  readonly lineage?: string;
}

export type EventFields = { readonly [field: string]: JsonValue };

/** What happened. */
export type Observation =
  /** The clock moved (schedules and monitors). */
  | { readonly kind: 'tick' }
  /** A data arrival or an upstream run finishing, with the source's fields. */
  | { readonly kind: 'event'; readonly fields: EventFields }
  /** A monitor's check, evaluated for the tick the engine asked for. */
  | {
    readonly kind: 'measurement'; readonly scheduledTime: number; readonly reference: string;
    /** A snapshot of the measured data (drift checks), passed to the run as the `data` field. */
    readonly data?: string;
    /** The drift report of the measured window (a file or an S3 URI), passed to the run as the `report` field. */
    readonly report?: string;
    readonly result: { readonly kind: 'insufficient'; readonly n: number; readonly need: number } | { readonly kind: 'value'; readonly value: number; readonly n: number; readonly drifted?: readonly string[] } | { readonly kind: 'unavailable'; readonly reason: string };
    readonly evidence?: { readonly [k: string]: JsonValue };
  }
  /** A run this trigger started has finished. */
  | { readonly kind: 'run-finished'; readonly runId: string; readonly status: string };

export type DecisionKind = 'fire' | 'suppress' | 'skip';

export interface Decision {
  readonly kind: DecisionKind;
  readonly trigger: string;
  /** When the decision was taken (ms). */
  readonly at: number;
  readonly reason: string;
  readonly evidence: { readonly [k: string]: JsonValue };
  readonly event?: EventFields;
  readonly dedupeKey?: string;
  /** Fires: the run to create, named from the dedupe key (a second create of the same key fails). */
  readonly runId?: string;
  readonly params?: { readonly [k: string]: JsonValue };
  /** `replace` concurrency: runs to stop first. */
  readonly replaces?: readonly string[];
}

export interface EngineResult {
  readonly state: TriggerState;
  readonly decisions: readonly Decision[];
  /** Monitors: the tick whose check the caller must evaluate and pass back as a `measurement`. */
  readonly measure?: number;
}

const RECENT_KEYS = 256;

export function initialState(): TriggerState {
  return { version: STATE_VERSION, cursor: null, lastFireAt: null, fires: [], recentKeys: [], running: [], queue: [], armed: true, streak: 0, reference: null };
}

/** The run (and Argo Workflow) name of a fire: the trigger's name and a hash of its dedupe key. DNS-1123, at most 53 characters. */
export function runIdFor(trigger: string, dedupeKey: string): string {
  return `${trigger}-${createHash('sha256').update(dedupeKey).digest('hex').slice(0, 12)}`;
}

/** An event field by name; a dotted name (`outputs.accuracy`) walks into an object field. */
export function fieldValue(fields: EventFields, name: string): JsonValue | undefined {
  if (name in fields) return fields[name];
  let v: JsonValue | undefined = fields;
  for (const part of name.split('.')) v = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as { [k: string]: JsonValue })[part] : undefined;
  return v;
}

export function dedupeKeyOf(ir: TriggerIR, fields: EventFields): string {
  return [ir.name, ...ir.policy.dedupe.map((f) => { const v = fieldValue(fields, f); return `${f}=${typeof v === 'string' ? v : JSON.stringify(v ?? null)}`; })].join('|');
}

const iso = (ms: number) => new Date(ms).toISOString();

function fmtDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/**
 * Cron ticks in (after, until], oldest first, at most `limit` (the rest are counted). Uses croner in
 * the trigger's time zone: a wall time skipped by a DST change fires at the first instant after the
 * gap (02:30 on a spring-forward night fires at 03:00); a wall time that occurs twice fires once, at
 * its first occurrence.
 */
export function ticksBetween(cron: string, timezone: string, after: number, until: number, limit = 10_000): { ticks: number[]; more: number } {
  const c = new Cron(cron, { timezone, paused: true });
  const ticks: number[] = [];
  let more = 0;
  let d: Date | null = new Date(after);
  for (;;) {
    d = c.nextRun(d);
    if (!d || d.getTime() > until) break;
    if (ticks.length < limit) ticks.push(d.getTime());
    else more++;
    if (more > 1_000_000) break;
  }
  return { ticks, more };
}

function describe(c: ConditionIR): string {
  switch (c.kind) {
    case 'compare': return `${c.field} ${c.op} ${JSON.stringify(c.value)}`;
    case 'matches': return `${c.field} matches /${c.pattern}/`;
    case 'and': return c.conditions.map(describe).join(' and ');
    case 'or': return `(${c.conditions.map(describe).join(' or ')})`;
    case 'not': return `not (${describe(c.condition)})`;
  }
}

/** Whether `c` holds for `fields`. */
export function evaluateCondition(c: ConditionIR, fields: EventFields): boolean {
  switch (c.kind) {
    case 'and': return c.conditions.every((x) => evaluateCondition(x, fields));
    case 'or': return c.conditions.some((x) => evaluateCondition(x, fields));
    case 'not': return !evaluateCondition(c.condition, fields);
    case 'matches': { const v = fieldValue(fields, c.field); return typeof v === 'string' && new RegExp(c.pattern).test(v); }
    case 'compare': {
      const v = fieldValue(fields, c.field);
      if (v === undefined || v === null) return false;
      switch (c.op) {
        case '==': return v === c.value;
        case '!=': return v !== c.value;
        case '<': return (v as number) < (c.value as number);
        case '<=': return (v as number) <= (c.value as number);
        case '>': return (v as number) > (c.value as number);
        case '>=': return (v as number) >= (c.value as number);
      }
    }
  }
}

/**
 * An upstream run's outputs as the trigger declared them: the local store has typed JSON values,
 * the cluster's exit hook sends Argo parameter strings ("0.93", "true"); both become the declared
 * type. Outputs not declared, or not convertible, are left out (a mapping from them then skips).
 */
export function typedOutputs(declared: { readonly [name: string]: FieldType }, raw: JsonValue | undefined): { [name: string]: JsonValue } {
  const out: { [name: string]: JsonValue } = {};
  const src = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as { readonly [k: string]: JsonValue };
  for (const [k, t] of Object.entries(declared)) {
    const v = src[k];
    if (v === undefined || v === null) continue;
    if (t === 'string') { if (typeof v === 'string') out[k] = v; continue; }
    if (t === 'boolean') { if (typeof v === 'boolean') out[k] = v; else if (v === 'true' || v === 'false') out[k] = v === 'true'; continue; }
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (Number.isFinite(n) && (t === 'number' || Number.isInteger(n))) out[k] = n;
  }
  return out;
}

/** The target's parameters from an event, checked against the parameter types; a list of problems when they do not fit. */
export function applyMapping(ir: TriggerIR, fields: EventFields): { ok: true; params: { [k: string]: JsonValue } } | { ok: false; problems: string[] } {
  const params: { [k: string]: JsonValue } = {};
  const problems: string[] = [];
  for (const p of Object.keys(ir.mapping).sort()) {
    const m = ir.mapping[p]!;
    const v = m.kind === 'literal' ? m.value : fieldValue(fields, m.field);
    if (v === undefined) { problems.push(`params.${p}: the event has no field "${m.kind === 'field' ? m.field : ''}"`); continue; }
    const spec = ir.target.params[p];
    const want = spec?.kind === 'artifact' ? 'string' : spec?.type ?? 'any';
    const got = typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
    const fits = want === 'any' || want === got || (want === 'number' && got === 'integer');
    if (!fits) problems.push(`params.${p}: expected ${want}, got ${got} ${JSON.stringify(v)}`);
    else params[p] = v;
  }
  return problems.length ? { ok: false, problems } : { ok: true, params };
}

/** Fires, after every policy rule, or says which rule stopped it. */
function consider(ir: TriggerIR, st: TriggerState, fields: EventFields, now: number, evidence: { [k: string]: JsonValue }): { state: TriggerState; decision: Decision } {
  const base = { trigger: ir.name, at: now, event: fields };
  const ev = { ...evidence };
  if (ir.condition && !evaluateCondition(ir.condition, fields)) return { state: st, decision: { ...base, kind: 'skip', reason: `condition not met: ${describe(ir.condition)}`, evidence: ev } };
  const mapped = applyMapping(ir, fields);
  if (!mapped.ok) return { state: st, decision: { ...base, kind: 'skip', reason: `mapping: ${mapped.problems.join('; ')}`, evidence: ev } };
  const dedupeKey = dedupeKeyOf(ir, fields);
  const runId = runIdFor(ir.name, dedupeKey);
  const fire = { ...base, dedupeKey, runId, params: mapped.params };
  if (st.recentKeys.includes(dedupeKey)) return { state: st, decision: { ...fire, kind: 'suppress', reason: `duplicate: ${dedupeKey} already fired`, evidence: ev } };
  const pol = ir.policy;
  if (st.lastFireAt !== null && now - st.lastFireAt < pol.cooldownMs)
    return { state: st, decision: { ...fire, kind: 'suppress', reason: `cooldown: last fire ${iso(st.lastFireAt)}, next allowed ${iso(st.lastFireAt + pol.cooldownMs)}`, evidence: ev } };
  const fires = pol.maxFires ? st.fires.filter((t) => now - t < pol.maxFires!.windowMs) : [];
  if (pol.maxFires && fires.length >= pol.maxFires.count)
    return { state: { ...st, fires }, decision: { ...fire, kind: 'suppress', reason: `max fires: ${fires.length} in the last ${fmtDuration(pol.maxFires.windowMs)} (limit ${pol.maxFires.count})`, evidence: ev } };
  let replaces: string[] | undefined;
  if (st.running.length > 0) {
    if (pol.concurrency === 'skip') return { state: st, decision: { ...fire, kind: 'suppress', reason: `concurrency skip: ${st.running.join(', ')} still running`, evidence: ev } };
    if (pol.concurrency === 'queue') {
      if (st.queue.some((q) => q.dedupeKey === dedupeKey)) return { state: st, decision: { ...fire, kind: 'suppress', reason: `duplicate: ${dedupeKey} already queued`, evidence: ev } };
      const queue = [...st.queue, { dedupeKey, runId, params: mapped.params, event: fields, at: now }];
      return { state: { ...st, queue }, decision: { ...fire, kind: 'suppress', reason: `queued behind ${st.running.join(', ')} (position ${queue.length})`, evidence: ev } };
    }
    if (pol.concurrency === 'replace') replaces = [...st.running];
  }
  const next: TriggerState = {
    ...st, lastFireAt: now, fires: pol.maxFires ? [...fires, now] : [], recentKeys: [...st.recentKeys, dedupeKey].slice(-RECENT_KEYS),
    running: replaces ? [runId] : [...st.running, runId],
  };
  const reason = replaces ? `fire (replacing ${replaces.join(', ')})` : st.running.length ? `fire (concurrency allow; ${st.running.length} already running)` : 'fire';
  return { state: next, decision: { ...fire, kind: 'fire', reason, evidence: ev, ...(replaces ? { replaces } : {}) } };
}

/** Filter -> mapping -> policy on one event's fields, whatever the source kind (`sluice triggers test`). */
export function considerEvent(ir: TriggerIR, state: TriggerState, fields: EventFields, now: number): { state: TriggerState; decision: Decision } {
  return consider(ir, state, fields, now, {});
}

/** The tick to handle now under the catch-up rule, and what was missed. Argo's rule: at most the latest missed tick, and only when inside the window. */
function dueTick(ir: TriggerIR, st: TriggerState, now: number): { state: TriggerState; tick?: number; decisions: Decision[] } {
  const s = ir.source;
  if (s.kind !== 'schedule' && s.kind !== 'monitor') return { state: st, decisions: [] };
  if (st.cursor === null) return { state: { ...st, cursor: now }, decisions: [] };
  if (now <= st.cursor) return { state: st, decisions: [] };
  const { ticks, more } = ticksBetween(s.cron, s.timezone, st.cursor, now);
  const state = { ...st, cursor: now };
  if (ticks.length === 0) return { state, decisions: [] };
  const latest = ticks[ticks.length - 1]!;
  const missed = ticks.length - 1 + more;
  const decisions: Decision[] = [];
  const evidence = { scheduledTime: iso(latest), missed, catchUp: fmtDuration(s.catchUpMs) };
  if (missed > 0) decisions.push({ trigger: ir.name, at: now, kind: 'skip', reason: `missed ${missed} earlier tick${missed === 1 ? '' : 's'} from ${iso(ticks[0]!)} (catch-up runs only the latest)`, evidence });
  if (now - latest > s.catchUpMs) {
    decisions.push({ trigger: ir.name, at: now, kind: 'skip', reason: `missed tick ${iso(latest)}: ${fmtDuration(now - latest)} late, outside the catch-up window of ${fmtDuration(s.catchUpMs)}`, evidence });
    return { state, decisions };
  }
  return { state, tick: latest, decisions };
}

/**
 * Decides what one observation means for one trigger. Pure: the same arguments give the same result.
 *
 * @example
 * let state = initialState();
 * const r = decide(trigger.ir, state, { kind: 'tick' }, Date.now());
 * state = r.state; for (const d of r.decisions) if (d.kind === 'fire') launch(d.runId, d.params);
 */
export function decide(ir: TriggerIR, state: TriggerState, obs: Observation, now: number): EngineResult {
  const s = ir.source;
  switch (obs.kind) {
    case 'tick': {
      const due = dueTick(ir, state, now);
      if (due.tick === undefined) return { state: due.state, decisions: due.decisions };
      if (s.kind === 'monitor') return { state: due.state, decisions: due.decisions, measure: due.tick };
      const fields = { scheduledTime: iso(due.tick), timezone: (s as { timezone: string }).timezone };
      const r = consider(ir, due.state, fields, now, { scheduledTime: fields.scheduledTime });
      return { state: r.state, decisions: [...due.decisions, r.decision] };
    }
    case 'event': {
      if (s.kind === 'schedule' || s.kind === 'monitor') return { state, decisions: [{ trigger: ir.name, at: now, kind: 'skip', reason: `a ${s.kind} trigger takes no events`, evidence: {}, event: obs.fields }] };
      if (s.kind === 'upstream') {
        const f = obs.fields;
        if (f.pipeline !== s.pipeline) return { state, decisions: [{ trigger: ir.name, at: now, kind: 'skip', reason: `run of ${String(f.pipeline)}, not ${s.pipeline}`, evidence: {}, event: f }] };
        if (!s.statuses.includes(f.status as never)) return { state, decisions: [{ trigger: ir.name, at: now, kind: 'skip', reason: `upstream ${String(f.runId)} ${String(f.status)}; fires on ${s.statuses.join(', ')}`, evidence: {}, event: f }] };
      }
      const fields = s.kind === 'upstream' ? { ...obs.fields, outputs: typedOutputs(s.outputs ?? {}, obs.fields.outputs) } : obs.fields;
      const missing = Object.keys(fieldsOf(s)).filter((k) => fieldValue(fields, k) === undefined && ir.policy.dedupe.includes(k));
      if (missing.length) return { state, decisions: [{ trigger: ir.name, at: now, kind: 'skip', reason: `event lacks dedupe field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, evidence: {}, event: fields }] };
      const r = consider(ir, state, fields, now, {});
      return { state: r.state, decisions: [r.decision] };
    }
    case 'measurement': return measure(ir, state, obs, now);
    case 'run-finished': {
      if (!state.running.includes(obs.runId)) return { state, decisions: [] };
      let st: TriggerState = { ...state, running: state.running.filter((r) => r !== obs.runId) };
      const decisions: Decision[] = [];
      while (st.queue.length > 0 && st.running.length === 0) {
        const [q, ...rest] = st.queue as [QueuedFire, ...QueuedFire[]];
        st = { ...st, queue: rest };
        if (st.recentKeys.includes(q.dedupeKey)) {
          decisions.push({ trigger: ir.name, at: now, kind: 'suppress', reason: `duplicate: ${q.dedupeKey} already fired`, evidence: {}, event: q.event, dedupeKey: q.dedupeKey, runId: q.runId, params: q.params });
          continue;
        }
        st = { ...st, lastFireAt: now, fires: ir.policy.maxFires ? [...st.fires, now] : [], recentKeys: [...st.recentKeys, q.dedupeKey].slice(-RECENT_KEYS), running: [q.runId] };
        decisions.push({ trigger: ir.name, at: now, kind: 'fire', reason: `dequeued: ${obs.runId} ${obs.status}, queued since ${iso(q.at)}`, evidence: {}, event: q.event, dedupeKey: q.dedupeKey, runId: q.runId, params: q.params });
      }
      return { state: st, decisions };
    }
  }
}

function measure(ir: TriggerIR, state: TriggerState, obs: Extract<Observation, { kind: 'measurement' }>, now: number): EngineResult {
  const s = ir.source;
  const base = { trigger: ir.name, at: now };
  if (s.kind !== 'monitor') return { state, decisions: [{ ...base, kind: 'skip', reason: `a ${s.kind} trigger takes no measurements`, evidence: {} }] };
  const h = ir.policy.hysteresis ?? { high: 0, low: 0, evaluations: 1 };
  const sign = s.direction === 'above' ? 1 : -1;
  const r = obs.result;
  let st = state;
  const evidence: { [k: string]: JsonValue } = { scheduledTime: iso(obs.scheduledTime), reference: obs.reference, threshold: h.high, ...(obs.evidence ?? {}) };
  if (st.reference !== obs.reference) {
    if (st.reference !== null && !st.armed) evidence.rearmed = `reference advanced from ${st.reference}`;
    st = { ...st, reference: obs.reference, armed: true, streak: st.reference === null ? st.streak : 0 };
  }
  if (r.kind === 'unavailable') return { state: st, decisions: [{ ...base, kind: 'skip', reason: r.reason, evidence }] };
  if (r.kind === 'insufficient') return { state: st, decisions: [{ ...base, kind: 'skip', reason: `insufficient samples (${r.n}, need ${r.need})`, evidence: { ...evidence, n: r.n, need: r.need } }] };
  const v = r.value;
  Object.assign(evidence, { value: v, n: r.n });
  const hi = sign * h.high;
  const lo = sign * h.low;
  const sv = sign * v;
  const cmp = s.direction === 'above' ? '≥' : '≤';
  if (!st.armed) {
    if (sv < lo) return { state: { ...st, armed: true, streak: 0 }, decisions: [{ ...base, kind: 'skip', reason: `re-armed: ${v} ${s.direction === 'above' ? '<' : '>'} ${h.low}`, evidence }] };
    return { state: st, decisions: [{ ...base, kind: 'skip', reason: `not re-armed since the last fire: ${v} has not gone ${s.direction === 'above' ? 'below' : 'above'} ${h.low}`, evidence }] };
  }
  if (sv < hi) return { state: { ...st, streak: 0 }, decisions: [{ ...base, kind: 'skip', reason: `${v} ${s.direction === 'above' ? '<' : '>'} ${h.high}: no ${s.check.kind === 'drift' ? 'drift' : 'crossing'}`, evidence }] };
  const streak = st.streak + 1;
  st = { ...st, streak };
  if (streak < h.evaluations) return { state: st, decisions: [{ ...base, kind: 'skip', reason: `${v} ${cmp} ${h.high} for ${streak} of ${h.evaluations} evaluations`, evidence }] };
  const fields: EventFields = { scheduledTime: iso(obs.scheduledTime), value: v, n: r.n, threshold: h.high, reference: obs.reference, drifted: (r.drifted ?? []).join(','), data: obs.data ?? '', report: obs.report ?? '' };
  const c = consider(ir, st, fields, now, evidence);
  const fired = c.decision.kind === 'fire';
  return { state: fired ? { ...c.state, armed: false, streak: 0 } : c.state, decisions: [c.decision] };
}

/** Folds a sequence of timed observations through the engine (replay, tests). Measurements must be supplied by `measure`. */
export function replay(ir: TriggerIR, start: TriggerState, observations: readonly { readonly at: number; readonly obs: Observation }[], measureAt?: (tick: number, state: TriggerState) => Observation | undefined): { state: TriggerState; decisions: Decision[] } {
  let st = start;
  const decisions: Decision[] = [];
  for (const { at, obs } of observations) {
    const r = decide(ir, st, obs, at);
    st = r.state;
    decisions.push(...r.decisions);
    if (r.measure !== undefined && measureAt) {
      const m = measureAt(r.measure, st);
      if (m) {
        const r2 = decide(ir, st, m, at);
        st = r2.state;
        decisions.push(...r2.decisions);
      }
    }
  }
  return { state: st, decisions };
}
