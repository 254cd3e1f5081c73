import type { FunctionComponentIR, JsonValue, PipelineIR, SluiceIssue, StepContext } from '@sluice/sdk';

export type ParseResult = { ok: true; values: Record<string, unknown> } | { ok: false; issues: readonly SluiceIssue[] };

/**
 * A function component ready to run: what `functionRuntimes(pipeline)` of `@sluice/sdk` gives for
 * each component hash. Tests may build these by hand.
 */
export interface FunctionRuntime {
  readonly ir: FunctionComponentIR;
  readonly hash: string;
  parseInputs(values: Record<string, unknown>, path: string): ParseResult;
  parseOutputs(values: Record<string, unknown>, path: string): ParseResult;
  run(inputs: Record<string, unknown>, ctx: StepContext<Record<string, unknown>>): Promise<Record<string, unknown> | void>;
}

/** A pipeline as the runner uses it: its IR and the runnable function components. */
export interface LoadedPipeline {
  readonly ir: PipelineIR;
  readonly runtimes: ReadonlyMap<string, FunctionRuntime>;
  /** The SDK pipeline it came from, when it did (for parameter parsing with its schemas). */
  readonly source?: unknown;
}

/** A reference to an artifact in the local content-addressed store. */
export interface ArtifactRef {
  readonly kind: 'artifact';
  readonly type: string;
  readonly hash: string;
  /** Absolute local path in the artifact store. */
  readonly path: string;
  readonly uri: string;
  readonly metadata: { readonly [key: string]: JsonValue };
}

/** A resolved value flowing between tasks: a JSON parameter value, an artifact, or a list of artifacts (fan-in). */
export type RuntimeValue = JsonValue | ArtifactRef | readonly ArtifactRef[];

export function isArtifactRef(v: unknown): v is ArtifactRef {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { kind?: unknown }).kind === 'artifact' && typeof (v as { hash?: unknown }).hash === 'string';
}
