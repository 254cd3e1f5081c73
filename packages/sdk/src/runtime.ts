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
}

/** The second argument of a function component's `run`. */
export interface StepContext<O> {
  /** Handles for the artifact outputs; parameter outputs are returned from `run`. */
  readonly outputs: O;
  readonly checkpoint: Checkpoint;
  /** Aborted on timeout or preemption (SIGTERM): save a checkpoint and return/throw promptly. */
  readonly signal: AbortSignal;
  readonly log: StepLogger;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly runId: string;
  readonly taskId: string;
  /** GPU device ids given to this step (also in `CUDA_VISIBLE_DEVICES`). */
  readonly gpus: readonly string[];
  /** A scratch directory removed after the step. */
  readonly tmpDir: string;
}
