/**
 * Promotion gates: whether a challenger model may take an alias (`champion`) from its current
 * holder. A pure function of the gate, the challenger's and the holder's evidence; every decision
 * carries its reasons and the numbers it was made on, and is recorded by the registry.
 */

/** A metric that must not get worse by more than `maxRegression` (absolute). */
export interface GuardSpec {
  readonly metric: string;
  /** `max`: higher is better (accuracy); `min`: lower is better (loss). @default 'max' */
  readonly direction?: 'max' | 'min';
  /** @default 0 */
  readonly maxRegression?: number;
}

/**
 * @example
 * { metric: 'accuracy', minDelta: 0.01, min: 0.9, guards: [{ metric: 'recall_setosa', maxRegression: 0.02 }] }
 */
export interface GateSpec {
  /** The metric the challenger must improve. */
  readonly metric: string;
  /** @default 'max' */
  readonly direction?: 'max' | 'min';
  /** The challenger must beat the holder by at least this much (and by more than 0). @default 0 */
  readonly minDelta?: number;
  /** An absolute bar the challenger must reach, holder or not (`>=` for max, `<=` for min). */
  readonly min?: number;
  readonly guards?: readonly GuardSpec[];
  /** Compare only on the same held-out data (by content hash). @default true */
  readonly sameEvalData?: boolean;
  /** Refuse a model evaluated on data it was trained on (by content hash). @default true */
  readonly noTrainEvalOverlap?: boolean;
}

/** What a gate looks at for one model version. */
export interface GateEvidence {
  readonly version?: string;
  readonly metrics: { readonly [name: string]: number };
  /** Content hashes of the data the metrics were computed on. */
  readonly evalData: readonly string[];
  /** Content hashes of the data the model was trained on. */
  readonly trainData: readonly string[];
}

export interface GateDecision {
  readonly passed: boolean;
  /** One line per check that failed (or, when passed, why it passed). */
  readonly reasons: readonly string[];
  readonly checks: readonly { readonly check: string; readonly passed: boolean; readonly detail: string }[];
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(6).replace(/0+$/, '').replace(/\.$/, ''));

/** Checks a gate spec's shape; returns problems as `gate.<field>: ...` lines (empty when valid). */
export function checkGateSpec(g: GateSpec): string[] {
  const out: string[] = [];
  const num = (v: unknown, f: string, nonNeg = false) => {
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || (nonNeg && v < 0)) out.push(`gate.${f}: expected a ${nonNeg ? 'non-negative ' : ''}finite number, got ${JSON.stringify(v)}`);
  };
  if (typeof g.metric !== 'string' || g.metric === '') out.push(`gate.metric: expected a metric name, got ${JSON.stringify(g.metric)}`);
  if (g.direction !== undefined && g.direction !== 'max' && g.direction !== 'min') out.push(`gate.direction: expected "max" or "min", got ${JSON.stringify(g.direction)}`);
  num(g.minDelta, 'minDelta', true);
  num(g.min, 'min');
  (g.guards ?? []).forEach((s, i) => {
    if (typeof s.metric !== 'string' || s.metric === '') out.push(`gate.guards[${i}].metric: expected a metric name`);
    if (s.direction !== undefined && s.direction !== 'max' && s.direction !== 'min') out.push(`gate.guards[${i}].direction: expected "max" or "min"`);
    num(s.maxRegression, `guards[${i}].maxRegression`, true);
  });
  return out;
}

/**
 * Decides whether `challenger` may take the alias held by `holder` (undefined: nobody holds it).
 *
 * @example
 * decideGate({ metric: 'accuracy', minDelta: 0.01 }, { metrics: { accuracy: 0.95 }, evalData: ['e'], trainData: ['t'] },
 *            { version: '3', metrics: { accuracy: 0.93 }, evalData: ['e'], trainData: ['t0'] }).passed // true
 */
export function decideGate(gate: GateSpec, challenger: GateEvidence, holder: GateEvidence | undefined): GateDecision {
  const checks: { check: string; passed: boolean; detail: string }[] = [];
  const add = (check: string, passed: boolean, detail: string) => checks.push({ check, passed, detail });
  const dir = gate.direction ?? 'max';
  const better = (a: number, b: number) => (dir === 'max' ? a - b : b - a);
  const c = challenger.metrics[gate.metric];

  if (c === undefined || !Number.isFinite(c)) {
    add('metric', false, `the challenger has no value for "${gate.metric}" (it has: ${Object.keys(challenger.metrics).sort().join(', ') || 'no metrics'})`);
  } else {
    if (gate.min !== undefined) {
      const ok = dir === 'max' ? c >= gate.min : c <= gate.min;
      add('bar', ok, `${gate.metric} ${fmt(c)} ${ok ? 'meets' : 'does not meet'} the bar ${dir === 'max' ? '>=' : '<='} ${fmt(gate.min)}`);
    }
    if (holder) {
      const h = holder.metrics[gate.metric];
      if (h === undefined) add('improvement', true, `the holder (version ${holder.version ?? '?'}) has no "${gate.metric}"; nothing to beat`);
      else {
        const d = better(c, h);
        const need = gate.minDelta ?? 0;
        const ok = d > 0 && d >= need - 1e-12;
        add('improvement', ok, `${gate.metric} ${fmt(c)} vs ${fmt(h)} of version ${holder.version ?? '?'}: ${d > 0 ? 'better' : d === 0 ? 'equal' : 'worse'} by ${fmt(Math.abs(d))}${need > 0 ? `, needs at least ${fmt(need)}` : ''}`);
      }
    }
  }

  if (holder) {
    for (const g of gate.guards ?? []) {
      const cv = challenger.metrics[g.metric];
      const hv = holder.metrics[g.metric];
      if (cv === undefined) {
        add(`guard:${g.metric}`, false, `guard "${g.metric}": the challenger has no value`);
        continue;
      }
      if (hv === undefined) {
        add(`guard:${g.metric}`, true, `guard "${g.metric}": the holder has no value; nothing to regress from`);
        continue;
      }
      const reg = -((g.direction ?? 'max') === 'max' ? cv - hv : hv - cv);
      const eps = g.maxRegression ?? 0;
      const ok = reg <= eps + 1e-12;
      add(`guard:${g.metric}`, ok, `guard "${g.metric}" ${fmt(cv)} vs ${fmt(hv)}: ${reg > 0 ? `regresses by ${fmt(reg)}` : 'does not regress'}${ok ? '' : `, more than the allowed ${fmt(eps)}`}`);
    }
    if (gate.sameEvalData ?? true) {
      const same = challenger.evalData.length > 0 && sameSet(challenger.evalData, holder.evalData);
      add('same-eval-data', same, same ? 'evaluated on the same held-out data as the holder' : `evaluated on other data than the holder (${short(challenger.evalData)} vs ${short(holder.evalData)}): the metrics are not comparable`);
    }
  }

  if (gate.noTrainEvalOverlap ?? true) {
    const overlap = challenger.evalData.filter((h) => challenger.trainData.includes(h));
    add('no-overlap', overlap.length === 0, overlap.length === 0 ? 'evaluation data does not overlap training data' : `the model was evaluated on data it was trained on (${short(overlap)})`);
  }

  const failed = checks.filter((x) => !x.passed);
  return {
    passed: failed.length === 0,
    reasons: failed.length ? failed.map((x) => x.detail) : checks.map((x) => x.detail),
    checks,
  };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const s = new Set(a);
  return s.size === new Set(b).size && b.every((x) => s.has(x));
}
function short(hs: readonly string[]): string {
  return hs.length ? hs.map((h) => h.replace(/^sha256:/, '').slice(0, 12)).join(', ') : 'none recorded';
}
