/**
 * What a function component sees at run time. The SDK defines these interfaces; the executor in
 * `@sluice/runner` implements them, identically for local runs and in Argo pods.
 */
import type { JsonValue } from './ir.ts';

/** An input artifact: a file or directory already on local disk. */
export interface InputArtifact<T extends string = string> {
  readonly type: T;
  /** Where the artifact lives (`file://…` locally, `s3://…` on a cluster). */
  readonly uri: string;
  /** Local path of the materialised file or directory. */
  readonly path: string;
  /** Metadata its producer attached. */
  readonly metadata: { readonly [key: string]: JsonValue };
  /** sha256 of the content (files: of the bytes; directories: of the sorted listing with file hashes). */
  readonly contentHash: string | undefined;
  read(): Promise<Buffer>;
  readText(): Promise<string>;
  readJson<V = unknown>(): Promise<V>;
}

/** An output artifact: write to `path` (or use `write`), attach metadata. */
export interface OutputArtifact<T extends string = string> {
  readonly type: T;
  readonly uri: string;
  /** Local path to write to; its parent directory exists. */
  readonly path: string;
  /** Metadata recorded with the artifact (JSON values). */
  readonly metadata: { [key: string]: JsonValue };
  /** Writes bytes or text to `path`. */
  write(data: string | Uint8Array): Promise<void>;
  /** Writes a value as JSON to `path`. */
  writeJson(value: unknown): Promise<void>;
  /** Copies an existing file or directory to `path`. */
  copyFrom(source: string): Promise<void>;
}

/** A `Metrics` output: name/value pairs, written as JSON when the step ends. */
export interface MetricsOutput extends OutputArtifact<'Metrics'> {
  /** Records a scalar metric, e.g. `log('accuracy', 0.93)`. */
  log(name: string, value: number): void;
  /** The metrics logged so far. */
  readonly values: { readonly [name: string]: number };
}

/** Checkpoints inside a step: survive retries, preemption and resume. */
export interface Checkpoint {
  /** Saves a JSON value (or, with `{ file }`, a file's bytes) atomically; the last K are kept. */
  save(value: JsonValue | { readonly file: string }): Promise<void>;
  /** The latest saved checkpoint, or `undefined` when none. For a file checkpoint: `{ file }` with a local path. */
  load<V = JsonValue>(): Promise<V | undefined>;
}

export interface StepLogger {
  info(message: string, fields?: { readonly [key: string]: JsonValue }): void;
  warn(message: string, fields?: { readonly [key: string]: JsonValue }): void;
  error(message: string, fields?: { readonly [key: string]: JsonValue }): void;
  /**
   * Records a metric value; every value is kept with its step and time (the embedded store, and
   * MLflow when configured). Without `step`, each name counts 0, 1, 2, ...
   *
   * @example
   * for (let epoch = 0; epoch < 30; epoch++) ctx.log.metric('loss', loss, { step: epoch });
   */
  metric(name: string, value: number, opts?: { readonly step?: number }): void;
  /** Records a parameter of the step (shown by `sluice compare`, logged to MLflow). */
  param(name: string, value: string | number | boolean): void;
  /** Records a tag of the step. */
  tag(name: string, value: string): void;
}

/** A registered model version. */
export interface ModelVersionInfo {
  readonly name: string;
  readonly version: number;
  readonly artifactHash: string;
  readonly artifactUri: string;
  readonly metrics: { readonly [name: string]: number };
  readonly aliases: readonly string[];
}

/** The model registry as a step sees it (embedded store locally, MLflow when a tracking URI is set). */
export interface StepModels {
  /**
   * Registers a model artifact as a new version (the same artifact, by content hash, gets the
   * version it already has). Records the run, task, artifact hash, git commit and the data hashes given.
   *
   * @example
   * const v = await ctx.models.register(ctx.outputs.model, { name: 'iris', metrics: { accuracy } });
   */
  register(model: InputArtifact | OutputArtifact, opts: { readonly name: string; readonly tags?: { readonly [k: string]: string }; readonly metrics?: { readonly [k: string]: number }; readonly trainData?: readonly string[]; readonly evalData?: readonly string[] }): Promise<ModelVersionInfo>;
  /** The version an alias points at, if any. */
  get(name: string, alias: string): Promise<ModelVersionInfo | undefined>;
  /**
   * Moves `alias` to `version` if the gate passes against the alias's current holder (see
   * `promote(...)` in `@sluice/tracking` for the gate's fields); records the decision either way.
   */
  promote(name: string, version: number, opts: { readonly alias: string; readonly gate: { readonly [k: string]: JsonValue } }): Promise<{ readonly promoted: boolean; readonly holder: number | null; readonly reasons: readonly string[] }>;
}

/** The second argument of a function component's `run`. */
export interface StepContext<O> {
  /** Handles for the artifact outputs; parameter outputs are returned from `run`. */
  readonly outputs: O;
  readonly checkpoint: Checkpoint;
  /** Aborted on timeout or preemption (SIGTERM): save a checkpoint and return/throw promptly. */
  readonly signal: AbortSignal;
  readonly log: StepLogger;
  /** The model registry. */
  readonly models: StepModels;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly runId: string;
  readonly taskId: string;
  /** GPU device ids given to this step (also in `CUDA_VISIBLE_DEVICES`). */
  readonly gpus: readonly string[];
  /** A scratch directory removed after the step. */
  readonly tmpDir: string;
}
