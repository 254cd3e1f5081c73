import type { FunctionComponentIR, PipelineIR, SluiceIssue, StepContext } from '@sluice/sdk';

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

/** A pipeline as the runner and the executor use it: its IR and the runnable function components. */
export interface LoadedPipeline {
  readonly ir: PipelineIR;
  readonly runtimes: ReadonlyMap<string, FunctionRuntime>;
  /** The SDK pipeline it came from, when it did (for parameter parsing with its schemas). */
  readonly source?: unknown;
}
