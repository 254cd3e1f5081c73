/**
 * The trigger IR: plain, frozen, versioned data. A trigger says when (its source and condition), what
 * (its target pipeline and the mapping from event fields to the pipeline's parameters) and how often
 * (its policy). Every default is written into the IR, not assumed by its readers.
 */
import type { JsonValue } from '@sluice/sdk';
import type { DriftSpec } from './stats/drift.ts';

export const TRIGGER_IR_VERSION = 1 as const;

/** Type of an event field. `integer` fields may feed `number` parameters, not the reverse. */
export type FieldType = 'string' | 'number' | 'integer' | 'boolean';

export interface ScheduleSourceIR {
  readonly kind: 'schedule';
  /** Five-field cron (minute hour day month weekday), checked with croner. */
  readonly cron: string;
  /** IANA time zone, always explicit (`Etc/UTC` for UTC). */
  readonly timezone: string;
  /** A missed tick is still fired when at most this old (ms); Argo's `startingDeadlineSeconds`. Only the latest missed tick fires. */
  readonly catchUpMs: number;
}

export type DataLocationIR =
  | { readonly kind: 'directory'; readonly path: string; readonly pattern: string }
  | S3LocationIR
  | { readonly kind: 'webhook'; readonly endpoint: string; readonly fields: { readonly [name: string]: FieldType } };

/**
 * Objects under an S3 prefix. Locally the daemon lists the prefix every `pollMs` (new or changed
 * objects by key and ETag since its cursor); on the cluster a MinIO server's bucket notifications
 * feed an Argo Events `minio` EventSource. Credentials are referenced, never stored: the names of
 * the environment variables the daemon reads, and the Kubernetes Secret the EventSource reads.
 */
export interface S3LocationIR {
  readonly kind: 's3';
  readonly bucket: string;
  readonly prefix: string;
  /** `http://host:port` or `https://host:port` of a MinIO (or other S3) server; absent: AWS S3. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials: {
    /** Environment variables the local daemon reads the keys from. @default AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY */
    readonly accessKeyEnv: string;
    readonly secretKeyEnv: string;
    /** Kubernetes Secret (keys `accesskey`, `secretkey`) the compiled EventSource reads. @default 'sluice-s3' */
    readonly secret: string;
  };
  /** Local daemon only: how often the prefix is listed (ms). @default 30000 */
  readonly pollMs: number;
}

export interface DataSourceIR {
  readonly kind: 'data';
  readonly location: DataLocationIR;
}

export type RunStatusName = 'succeeded' | 'failed' | 'interrupted';

export interface UpstreamSourceIR {
  readonly kind: 'upstream';
  /** Name of the upstream pipeline. */
  readonly pipeline: string;
  readonly statuses: readonly RunStatusName[];
  /**
   * The upstream pipeline's parameter outputs (string, number, integer or boolean) and their types:
   * its events carry them as `outputs.<name>` (absent when the run did not produce them, e.g. failed).
   */
  readonly outputs: { readonly [name: string]: FieldType };
}

export interface DriftCheckIR {
  readonly kind: 'drift';
  readonly spec: DriftSpec;
  /**
   * Where the reference comes from. `lineage`: the training data of the target's last successful run
   * (its `param` parameter, a path), so a retrain advances the reference and re-arms the trigger;
   * `path`: a fixed file.
   */
  readonly reference: { readonly kind: 'lineage'; readonly param: string; readonly fallback?: string } | { readonly kind: 'path'; readonly path: string };
  /** The current window: a CSV file or a directory of CSV files (the newest `window` rows). */
  readonly current: { readonly path: string; readonly window: number };
}

export interface MetricCheckIR {
  readonly kind: 'metric';
  /** A numeric output of the last successful run of `pipeline` (locally from the run store; on the cluster a Prometheus query). */
  readonly pipeline: string;
  readonly output: string;
  readonly query?: string;
}

export interface MonitorSourceIR {
  readonly kind: 'monitor';
  readonly cron: string;
  readonly timezone: string;
  readonly catchUpMs: number;
  readonly check: DriftCheckIR | MetricCheckIR;
  /** `above`: fire when the value rises to the high threshold; `below`: when it falls to it (accuracy). */
  readonly direction: 'above' | 'below';
}

export type SourceIR = ScheduleSourceIR | DataSourceIR | UpstreamSourceIR | MonitorSourceIR;
export type SourceKind = SourceIR['kind'];

/** A condition over event fields. */
export type ConditionIR =
  | { readonly kind: 'compare'; readonly field: string; readonly op: '==' | '!=' | '<' | '<=' | '>' | '>='; readonly value: string | number | boolean }
  | { readonly kind: 'matches'; readonly field: string; readonly pattern: string }
  | { readonly kind: 'and'; readonly conditions: readonly ConditionIR[] }
  | { readonly kind: 'or'; readonly conditions: readonly ConditionIR[] }
  | { readonly kind: 'not'; readonly condition: ConditionIR };

/** The value a target parameter gets: an event field or a constant. */
export type MappingValueIR = { readonly kind: 'field'; readonly field: string } | { readonly kind: 'literal'; readonly value: JsonValue };

export interface TargetIR {
  /** Name of the target pipeline. */
  readonly pipeline: string;
  /** The target's parameters as declared (kind, type, optional, default), copied from its IR. */
  readonly params: { readonly [name: string]: { readonly kind: 'parameter' | 'artifact'; readonly type: string; readonly optional: boolean } };
  /** Pipeline file the daemon loads (relative to the triggers file), and its export. */
  readonly entry?: string;
  readonly exportName?: string;
}

export type Concurrency = 'allow' | 'skip' | 'queue' | 'replace';

export interface PolicyIR {
  /** Event fields whose values, with the trigger name, make the dedupe key. */
  readonly dedupe: readonly string[];
  readonly cooldownMs: number;
  readonly concurrency: Concurrency;
  readonly maxFires: { readonly count: number; readonly windowMs: number } | null;
  /** Monitors only: fire at `high` for `evaluations` evaluations in a row, then re-arm below `low`. */
  readonly hysteresis: { readonly high: number; readonly low: number; readonly evaluations: number } | null;
  /** Longest chain of triggers this one may start (a -> b -> a needs it). @default null: cycles are errors */
  readonly maxDepth: number | null;
}

export interface TriggerIR {
  readonly kind: 'trigger';
  readonly irVersion: typeof TRIGGER_IR_VERSION;
  readonly name: string;
  readonly description?: string;
  readonly source: SourceIR;
  readonly condition: ConditionIR | null;
  readonly target: TargetIR;
  readonly mapping: { readonly [param: string]: MappingValueIR };
  readonly policy: PolicyIR;
}

/** Fields every event of a source kind carries, with their types. Webhooks add their declared fields. */
export const SOURCE_FIELDS = {
  schedule: { scheduledTime: 'string', timezone: 'string' },
  data: { uri: 'string', key: 'string', size: 'integer', etag: 'string', time: 'string' },
  upstream: { pipeline: 'string', runId: 'string', status: 'string', finishedAt: 'string' },
  monitor: { scheduledTime: 'string', value: 'number', n: 'integer', threshold: 'number', reference: 'string', drifted: 'string', data: 'string', report: 'string' },
} as const satisfies Record<SourceKind, Record<string, FieldType>>;

/** Default dedupe fields per source kind (with the trigger's name): one fire per tick, per object version, per upstream run, per reference and tick. */
export const DEFAULT_DEDUPE = {
  schedule: ['scheduledTime'],
  data: ['key', 'etag'],
  upstream: ['runId'],
  monitor: ['reference', 'scheduledTime'],
} as const satisfies Record<SourceKind, readonly string[]>;

export function fieldsOf(source: SourceIR): { readonly [name: string]: FieldType } {
  if (source.kind === 'data' && source.location.kind === 'webhook') return { time: 'string', ...source.location.fields };
  if (source.kind === 'upstream') return { ...SOURCE_FIELDS.upstream, ...Object.fromEntries(Object.entries(source.outputs ?? {}).map(([k, t]) => [`outputs.${k}`, t])) };
  return SOURCE_FIELDS[source.kind];
}
