/**
 * Trigger views from the store's `trigger_*` tables (written by `@sluice/triggers`' daemon), as
 * plain data: each trigger's state, its last decisions (fire, suppress, skip; reason and evidence)
 * and the runs it started with their status now. Read through the daemon's own `TriggerStore`
 * (the reads `sluice triggers list/explain` make), opened read-only; no trigger code runs.
 */
import type { JsonValue } from '@sluice/sdk';
import { TriggerStore } from '@sluice/triggers';
import { iso, parse } from './runs.ts';

/** One decision of a trigger. */
export interface TriggerDecisionView {
  readonly id: number;
  readonly at: string;
  readonly kind: 'fire' | 'suppress' | 'skip';
  readonly reason: string;
  readonly evidence: { readonly [k: string]: JsonValue };
  /** The event (or tick) it was about; null for a decision without one. */
  readonly event: { readonly [field: string]: JsonValue } | null;
  readonly dedupeKey: string | null;
  /** Fires: the run it starts (named from the dedupe key). */
  readonly runId: string | null;
}

/** A run a trigger reserved, launched or saw finish, with the run's status in the store now. */
export interface TriggerFireView {
  readonly runId: string;
  readonly dedupeKey: string;
  /** The daemon's record: `reserved` (not launched yet), `launched`, `finished`. */
  readonly fire: 'reserved' | 'launched' | 'finished';
  readonly reservedAt: string;
  readonly launchedAt: string | null;
  readonly finishedAt: string | null;
  /** The run's status in the runs table; null while it does not exist (reserved, not launched). */
  readonly runStatus: string | null;
  readonly params: { readonly [k: string]: JsonValue };
}

/** One trigger as the store knows it (its definition lives in the triggers file, not here). */
export interface TriggerView {
  readonly name: string;
  /** When its state was last committed (ISO); null for a trigger with decisions and no state row. */
  readonly updatedAt: string | null;
  readonly state: { readonly armed: boolean; readonly streak: number; readonly running: readonly string[]; readonly queued: number; readonly lastFireAt: string | null };
  /** How many decisions of each kind it took in all. */
  readonly counts: { readonly fire: number; readonly suppress: number; readonly skip: number };
  /** The last decisions, newest first. */
  readonly decisions: readonly TriggerDecisionView[];
  /** The runs it started, newest first. */
  readonly fires: readonly TriggerFireView[];
}


/**
 * Every trigger of the store with its last `decisions` decisions and its fires; empty when the
 * trigger daemon never ran on this store.
 */
export function triggerViews(dbFile: string, opts: { readonly decisions?: number; readonly fires?: number } = {}): TriggerView[] {
  const store = TriggerStore.read(dbFile);
  if (!store) return [];
  try {
    const names = store.db.prepare(`SELECT name FROM trigger_state UNION SELECT DISTINCT trigger FROM trigger_decisions ORDER BY 1`).pluck().all() as string[];
    const updated = new Map((store.db.prepare(`SELECT name, updated_at FROM trigger_state`).all() as { name: string; updated_at: number }[]).map((r) => [r.name, r.updated_at]));
    const kinds = store.db.prepare(`SELECT kind, count(*) AS n FROM trigger_decisions WHERE trigger = ? GROUP BY kind`);
    return names.map((name) => {
      const st = store.loadState(name);
      const counts = { fire: 0, suppress: 0, skip: 0 };
      for (const r of kinds.all(name) as { kind: keyof typeof counts; n: number }[]) if (r.kind in counts) counts[r.kind] = r.n;
      const decisions = store.decisions(name, opts.decisions ?? 50).reverse().map((d): TriggerDecisionView => ({
        id: d.id, at: iso(d.at) as string, kind: d.kind as TriggerDecisionView['kind'], reason: d.reason,
        evidence: parse<{ [k: string]: JsonValue }>(d.evidence) ?? {}, event: parse<{ [k: string]: JsonValue }>(d.event), dedupeKey: d.dedupe_key, runId: d.run_id,
      }));
      const fires = store.fires(name).reverse().slice(0, opts.fires ?? 100).map((f): TriggerFireView => ({
        runId: f.run_id, dedupeKey: f.dedupe_key, fire: f.status, reservedAt: iso(f.reserved_at) as string, launchedAt: iso(f.launched_at), finishedAt: iso(f.finished_at),
        runStatus: store.run(f.run_id)?.status ?? null, params: parse<{ [k: string]: JsonValue }>(f.params) ?? {},
      }));
      return {
        name, updatedAt: iso(updated.get(name)),
        state: { armed: st.armed, streak: st.streak, running: st.running, queued: st.queue.length, lastFireAt: iso(st.lastFireAt) },
        counts, decisions, fires,
      };
    });
  } finally {
    store.close();
  }
}
