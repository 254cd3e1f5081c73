/**
 * Defining triggers in TypeScript. The builder checks what the compiler can (a string event field
 * into a number parameter does not compile) and hands out frozen IR, validated with paths.
 */
import type { z } from 'zod';
import type { ArtifactListType, ArtifactType, Duration, IOShape, JsonValue, OutputRefShape, ParamRef, Pipeline } from '@sluice/sdk';
import { SluiceValidationError, toIR } from '@sluice/sdk';
import type { DriftStatistic, Correction } from './stats/drift.ts';
import {
  fieldsOf as fieldsOfSource, DEFAULT_DEDUPE, TRIGGER_IR_VERSION, type ConditionIR, type Concurrency, type DataLocationIR, type FieldType, type MonitorSourceIR,
  type RunStatusName, type SourceIR, type TargetIR, type TriggerIR,
} from './ir.ts';
import { durationMs, validateTriggerIR } from './validate.ts';

declare const FIELD_TYPE: unique symbol;
/** A reference to an event field of type `T`; becomes `{ kind: 'field', field }` in the IR. */
export interface FieldRef<T> {
  readonly kind: 'field';
  readonly field: string;
  /** @internal phantom: carries the field's type for the compiler only */
  readonly [FIELD_TYPE]: T;
}

type TypeOfField<F extends FieldType> = F extends 'string' ? string : F extends 'boolean' ? boolean : number;
type FieldsOf<S extends { readonly [k: string]: FieldType }> = { -readonly [K in keyof S]: TypeOfField<S[K]> };

/** A trigger source: its IR and (in the type only) the fields its events carry. */
export interface Source<F extends Record<string, unknown>> {
  readonly ir: SourceIR;
  /** @internal phantom */
  readonly __fields?: F;
}

type ScheduleFields = { scheduledTime: string; timezone: string };
type DataFields = { uri: string; key: string; size: number; etag: string; time: string };
type UpstreamFields = { pipeline: string; runId: string; status: string; finishedAt: string };
/**
 * `data`: for drift checks, a CSV snapshot of the window that was measured (what a retrain should learn from); '' for metrics.
 * `report`: for drift checks, the drift report (HTML) of that window, a file locally and an S3 URI on the cluster; map it to
 * an artifact parameter to make it one of the triggered run's inputs; '' for metrics.
 */
type MonitorFields = { scheduledTime: string; value: number; n: number; threshold: number; reference: string; drifted: string; data: string; report: string };

/**
 * Fires on a cron schedule in an explicit time zone.
 *
 * @example schedule({ cron: '0 3 * * *', timezone: 'Europe/Berlin', catchUp: '1h' })
 */
export function schedule(o: { cron: string; timezone: string; catchUp?: Duration }): Source<ScheduleFields> {
  return { ir: { kind: 'schedule', cron: o.cron, timezone: o.timezone, catchUpMs: durationMsOr(o.catchUp, 60_000) } };
}

function durationMsOr(d: Duration | undefined, dflt: number): number {
  return d === undefined ? dflt : durationMs(d) ?? Number.NaN;
}

/** Fires when data lands: a new or changed file in a local directory, an object under an S3 prefix, or a webhook call. */
export const dataArrival = {
  /** @example dataArrival.directory('data/incoming', { pattern: '*.csv' }) */
  directory(path: string, o: { pattern?: string } = {}): Source<DataFields> {
    return { ir: { kind: 'data', location: { kind: 'directory', path, pattern: o.pattern ?? '*' } } };
  },
  /**
   * Objects landing under an S3 prefix (a new key, or a key whose ETag changed). Credentials are
   * read from the environment variables named here (locally) and from a Kubernetes Secret (on the
   * cluster); their values never enter the IR, the store or a log.
   *
   * @example dataArrival.s3({ bucket: 'raw', prefix: 'events/', endpoint: 'http://minio:9000', poll: '30s' })
   */
  s3(o: {
    bucket: string; prefix: string; endpoint?: string; region?: string;
    credentials?: { accessKeyEnv?: string; secretKeyEnv?: string; secret?: string };
    /** Local daemon: how often the prefix is listed. @default '30s' */
    poll?: Duration;
  }): Source<DataFields> {
    const location: DataLocationIR = {
      kind: 's3', bucket: o.bucket, prefix: o.prefix, ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}), ...(o.region !== undefined ? { region: o.region } : {}),
      credentials: { accessKeyEnv: o.credentials?.accessKeyEnv ?? 'AWS_ACCESS_KEY_ID', secretKeyEnv: o.credentials?.secretKeyEnv ?? 'AWS_SECRET_ACCESS_KEY', secret: o.credentials?.secret ?? 'sluice-s3' },
      pollMs: durationMsOr(o.poll, 30_000),
    };
    return { ir: { kind: 'data', location } };
  },
  /** A POST of a JSON body with the declared fields. @example dataArrival.webhook({ endpoint: '/new-data', fields: { uri: 'string', rows: 'integer' } }) */
  webhook<const S extends { readonly [name: string]: FieldType }>(o: { endpoint: string; fields: S }): Source<{ time: string } & FieldsOf<S>> {
    return { ir: { kind: 'data', location: { kind: 'webhook', endpoint: o.endpoint, fields: { ...o.fields } } } };
  },
};

/** The upstream pipeline's scalar parameter outputs, as event fields (`e.outputs.accuracy`). */
type OutputFields<R> = { -readonly [K in keyof R as R[K] extends ParamRef<string | number | boolean> ? K : never]: R[K] extends ParamRef<infer T> ? T : never };

/**
 * Fires when a run of another pipeline finishes with one of `statuses`. Its events carry the run's
 * scalar parameter outputs as `outputs.<name>` (typed from the pipeline, for the mapping).
 *
 * @default statuses ['succeeded']
 * @example upstream(evaluate, { statuses: ['succeeded'] }) // params: (e) => ({ threshold: e.outputs.accuracy })
 */
export function upstream<R extends OutputRefShape>(p: Pipeline<any, R>, o?: { statuses?: readonly RunStatusName[] }): Source<UpstreamFields & { outputs: OutputFields<R> }>;
export function upstream(p: string, o?: { statuses?: readonly RunStatusName[] }): Source<UpstreamFields>;
export function upstream(p: Pipeline<any, any> | string, o: { statuses?: readonly RunStatusName[] } = {}): Source<UpstreamFields> {
  const outputs: { [name: string]: FieldType } = {};
  if (typeof p !== 'string') {
    for (const [k, spec] of Object.entries(toIR(p).outputs).sort(([a], [b]) => a.localeCompare(b))) {
      if (spec.kind === 'parameter' && ['string', 'number', 'integer', 'boolean'].includes(spec.type)) outputs[k] = spec.type as FieldType;
    }
  }
  return { ir: { kind: 'upstream', pipeline: typeof p === 'string' ? p : p.pipelineName, statuses: [...(o.statuses ?? ['succeeded'])], outputs } };
}

interface MonitorTiming { cron: string; timezone: string; catchUp?: Duration }

/** Checks evaluated on a schedule. */
export const monitor = {
  /**
   * Drift of the current window against a reference, per feature.
   *
   * @example monitor.drift({ cron: '*\/5 * * * *', timezone: 'Etc/UTC', features: ['age', 'income'], statistic: 'psi', threshold: 0.2,
   *   reference: { lineage: 'data' }, current: { path: 'data/stream.csv', window: 500 } })
   */
  drift(o: MonitorTiming & {
    features: readonly (string | { name: string; kind: 'numeric' | 'categorical' })[];
    statistic?: DriftStatistic; threshold: number; alpha?: number; correction?: Correction; bins?: number;
    reference: { lineage: string; fallback?: string } | { path: string };
    current: { path: string; window: number };
  }): Source<MonitorFields> {
    const ir: MonitorSourceIR = {
      kind: 'monitor', cron: o.cron, timezone: o.timezone, catchUpMs: durationMsOr(o.catchUp, 60_000), direction: 'above',
      check: {
        kind: 'drift',
        spec: {
          statistic: o.statistic ?? 'psi', threshold: o.threshold, alpha: o.alpha ?? 0.05, correction: o.correction ?? 'bonferroni', bins: o.bins ?? 10,
          features: o.features.map((f) => (typeof f === 'string' ? { name: f, kind: 'numeric' as const } : { name: f.name, kind: f.kind })),
        },
        reference: 'lineage' in o.reference ? { kind: 'lineage', param: o.reference.lineage, ...(o.reference.fallback !== undefined ? { fallback: o.reference.fallback } : {}) } : { kind: 'path', path: o.reference.path },
        current: { path: o.current.path, window: o.current.window },
      },
    };
    return { ir };
  },
  /** A numeric output of the last successful run of a pipeline (locally from the run store; on the cluster `query` against Prometheus). */
  metric(o: MonitorTiming & { pipeline: Pipeline<any, any> | string; output: string; direction: 'above' | 'below'; query?: string }): Source<MonitorFields> {
    return {
      ir: {
        kind: 'monitor', cron: o.cron, timezone: o.timezone, catchUpMs: durationMsOr(o.catchUp, 60_000), direction: o.direction,
        check: { kind: 'metric', pipeline: typeof o.pipeline === 'string' ? o.pipeline : o.pipeline.pipelineName, output: o.output, ...(o.query !== undefined ? { query: o.query } : {}) },
      },
    };
  },
};

/** What a pipeline parameter accepts: the zod output type; artifacts take a path. */
type ParamValue<T> = T extends ArtifactType | ArtifactListType ? string : T extends z.ZodType ? z.output<T> : never;
/** Values for the target's parameters: an event field of the parameter's type, or a constant. */
export type ParamMapping<P extends IOShape> = { [K in keyof P]?: FieldRef<ParamValue<P[K]>> | ParamValue<P[K]> };
/** The event's fields as typed references (an object field, such as an upstream run's `outputs`, as references to its fields). */
export type EventRefs<F> = { readonly [K in keyof F]: F[K] extends string | number | boolean ? FieldRef<F[K]> : EventRefs<F[K]> };

/** Comparisons over event fields, for `when`. */
export const cond = {
  eq: <T extends string | number | boolean>(f: FieldRef<T>, value: T): ConditionIR => ({ kind: 'compare', field: f.field, op: '==', value }),
  ne: <T extends string | number | boolean>(f: FieldRef<T>, value: T): ConditionIR => ({ kind: 'compare', field: f.field, op: '!=', value }),
  lt: (f: FieldRef<number>, value: number): ConditionIR => ({ kind: 'compare', field: f.field, op: '<', value }),
  le: (f: FieldRef<number>, value: number): ConditionIR => ({ kind: 'compare', field: f.field, op: '<=', value }),
  gt: (f: FieldRef<number>, value: number): ConditionIR => ({ kind: 'compare', field: f.field, op: '>', value }),
  ge: (f: FieldRef<number>, value: number): ConditionIR => ({ kind: 'compare', field: f.field, op: '>=', value }),
  /** A regular expression (JavaScript and Go RE2 common subset) over a string field. */
  matches: (f: FieldRef<string>, pattern: string): ConditionIR => ({ kind: 'matches', field: f.field, pattern }),
  and: (...conditions: ConditionIR[]): ConditionIR => ({ kind: 'and', conditions }),
  or: (...conditions: ConditionIR[]): ConditionIR => ({ kind: 'or', conditions }),
  not: (condition: ConditionIR): ConditionIR => ({ kind: 'not', condition }),
};

export interface TriggerConfig<F extends Record<string, unknown>, P extends IOShape> {
  /** DNS-1123 label (lower case, digits, '-'), at most 40 characters: it names Argo objects. */
  name: string;
  description?: string;
  source: Source<F>;
  /** The pipeline to run. */
  target: Pipeline<P, any>;
  /** Pipeline file the local daemon loads the target from, relative to the working directory, and its export. */
  entry?: string;
  exportName?: string;
  /** Parameters of the run from the event's fields. Checked by the compiler and again against the pipeline's parameter specs. */
  params?: (event: EventRefs<F>) => ParamMapping<P>;
  /** Only events for which this holds fire. */
  when?: (event: EventRefs<F>) => ConditionIR;
  policy?: {
    /** Fields (with the trigger's name) that make the dedupe key. @default per source: scheduledTime; key+etag; runId; reference+scheduledTime */
    dedupe?: readonly (keyof F & string)[];
    /** @default 0 */
    cooldown?: Duration;
    /** While a fired run is still running: start another (`allow`), drop (`skip`), wait (`queue`), or stop it and start (`replace`). @default 'skip' */
    concurrency?: Concurrency;
    maxFires?: { count: number; window: Duration };
    /** Monitors: fire at `high` for `evaluations` evaluations in a row; fire again only after the value went below `low`. @default { high: threshold, low: threshold, evaluations: 1 } */
    hysteresis?: { high: number; low: number; evaluations?: number };
    /** Allows this trigger in a cycle (a -> b -> a) up to this many chained fires. */
    maxDepth?: number;
  };
}

/** A trigger: its frozen IR and, for the local daemon, the target pipeline. */
export interface Trigger {
  readonly kind: 'trigger';
  readonly ir: TriggerIR;
  readonly pipeline: Pipeline<any, any>;
}

export function isTrigger(x: unknown): x is Trigger {
  return typeof x === 'object' && x !== null && (x as Trigger).kind === 'trigger' && typeof (x as Trigger).ir === 'object';
}

function deepFreeze<T>(x: T): T {
  if (typeof x === 'object' && x !== null && !Object.isFrozen(x)) {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}

function refsFor(fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const parts = f.split('.');
    let at = out;
    for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[parts[parts.length - 1]!] = Object.freeze({ kind: 'field' as const, field: f });
  }
  return out;
}

/**
 * Defines a trigger. Throws a `SluiceValidationError` naming every problem (`name/source.schedule: ...`).
 *
 * @example
 * export const nightly = trigger({
 *   name: 'nightly', source: schedule({ cron: '0 3 * * *', timezone: 'Europe/Berlin' }), target: train,
 *   params: (e) => ({ runDate: e.scheduledTime, lr: 0.1 }), policy: { concurrency: 'skip' },
 * });
 */
export function trigger<F extends Record<string, unknown>, P extends IOShape>(config: TriggerConfig<F, P>): Trigger {
  const source = structuredClone(config.source.ir);
  const fieldNames = Object.keys(fieldsOfSource(source));
  const refs = refsFor(fieldNames) as unknown as EventRefs<F>;
  const targetIR = toIR(config.target);
  const params: TargetIR['params'] = Object.fromEntries(Object.keys(targetIR.params).sort().map((k) => {
    const s = targetIR.params[k]!;
    return [k, s.kind === 'artifact' ? { kind: 'artifact' as const, type: s.artifactType, optional: s.optional } : { kind: 'parameter' as const, type: s.type, optional: s.optional || s.default !== undefined }];
  }));
  const mapping: Record<string, TriggerIR['mapping'][string]> = {};
  for (const [k, v] of Object.entries(config.params?.(refs) ?? {})) {
    if (v === undefined) continue;
    mapping[k] = typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'field' && typeof (v as { field?: unknown }).field === 'string'
      ? { kind: 'field', field: (v as { field: string }).field }
      : { kind: 'literal', value: v as JsonValue };
  }
  const p = config.policy ?? {};
  const threshold = source.kind === 'monitor' && source.check.kind === 'drift' ? source.check.spec.threshold : undefined;
  const hysteresis = p.hysteresis
    ? { high: p.hysteresis.high, low: p.hysteresis.low, evaluations: p.hysteresis.evaluations ?? 1 }
    : source.kind === 'monitor' && threshold !== undefined ? { high: threshold, low: threshold, evaluations: 1 } : null;
  const ir: TriggerIR = {
    kind: 'trigger', irVersion: TRIGGER_IR_VERSION, name: config.name, ...(config.description !== undefined ? { description: config.description } : {}),
    source,
    condition: config.when ? structuredClone(config.when(refs)) : null,
    target: { pipeline: targetIR.name, params, ...(config.entry !== undefined ? { entry: config.entry } : {}), ...(config.exportName !== undefined ? { exportName: config.exportName } : {}) },
    mapping,
    policy: {
      // (a webhook's calls carry only the fields it declares: no default identifies one call)
      dedupe: [...(p.dedupe ?? (source.kind === 'data' && source.location.kind === 'webhook' ? [] : DEFAULT_DEDUPE[source.kind]))],
      cooldownMs: p.cooldown === undefined ? 0 : durationMs(p.cooldown) ?? Number.NaN,
      concurrency: p.concurrency ?? 'skip',
      maxFires: p.maxFires ? { count: p.maxFires.count, windowMs: durationMs(p.maxFires.window) ?? Number.NaN } : null,
      hysteresis,
      maxDepth: p.maxDepth ?? null,
    },
  };
  const issues = validateTriggerIR(ir);
  if (issues.length) throw new SluiceValidationError(issues, `trigger ${config.name}`);
  return Object.freeze({ kind: 'trigger', ir: deepFreeze(ir), pipeline: config.target });
}

