import type { JsonValue } from '@sluice/sdk';

export type { FunctionRuntime, LoadedPipeline, ParseResult } from '@sluice/executor';

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
