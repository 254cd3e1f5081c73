import type { JsonValue, RunOutputArtifact } from '@sluice/sdk';

export type { FunctionRuntime, LoadedPipeline, ParseResult } from '@sluice/executor';

/**
 * A reference to an artifact in the local content-addressed store (`path` is absolute, inside the
 * store): the SDK's run-output artifact, so what a task produced is a run output as it is.
 */
export type ArtifactRef = RunOutputArtifact;

/** A resolved value flowing between tasks: a JSON parameter value, an artifact, or a list of artifacts (fan-in). */
export type RuntimeValue = JsonValue | ArtifactRef | readonly ArtifactRef[];

export function isArtifactRef(v: unknown): v is ArtifactRef {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { kind?: unknown }).kind === 'artifact' && typeof (v as { hash?: unknown }).hash === 'string';
}
