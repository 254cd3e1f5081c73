/**
 * Types of the client API: {@link runPipeline}'s parameters and outputs follow the pipeline's own
 * declarations when it is given a typed `Pipeline` value; a file path or bare IR stays untyped.
 */
import type { z } from 'zod';
import type { ArtifactListRef, ArtifactListType, ArtifactRef as ArtifactRefOf, ArtifactType, IOShape, JsonValue, OutputRefShape, ParamRef, Pipeline } from '@sluice/sdk';
import type { ArtifactRef } from './engine/types.ts';
import type { RunOptions, RunResult } from './run.ts';

/** The value given for a pipeline parameter declared as `S` (an artifact parameter: a local path). */
export type ParamValue<S> =
  S extends ArtifactListType<string> ? readonly string[]
  : S extends ArtifactType<string> ? string
  : S extends z.ZodType ? z.input<S>
  : never;

type OptionalParams<P extends IOShape> = { [K in keyof P]: P[K] extends z.ZodType ? (undefined extends z.input<P[K]> ? K : never) : never }[keyof P];

/** The `params` of a pipeline with parameters `P`: those without a default are required, unknown names are rejected. */
export type PipelineParams<P extends IOShape> =
  { readonly [K in Exclude<keyof P, OptionalParams<P>>]: ParamValue<P[K]> } & { readonly [K in OptionalParams<P>]?: ParamValue<P[K]> };

/** What a pipeline output declared as the reference `R` holds after a run. */
export type OutputValue<R> =
  R extends ArtifactListRef<string> ? readonly ArtifactRef[]
  : R extends ArtifactRefOf<string> ? ArtifactRef
  : R extends ParamRef<infer T> ? (T extends JsonValue ? T : JsonValue)
  : never;

/** A run's outputs for a pipeline returning `R`. */
export type PipelineOutputs<R extends OutputRefShape> = { readonly [K in keyof R]: OutputValue<R[K]> };

/** {@link RunOptions} with `params` typed from the pipeline (command-line text when `paramsFromCli`). */
export type TypedRunOptions<P extends IOShape> =
  | (Omit<RunOptions, 'params' | 'paramsFromCli'> & { readonly params?: PipelineParams<P>; readonly paramsFromCli?: false })
  | (Omit<RunOptions, 'params' | 'paramsFromCli'> & { readonly params?: { readonly [K in keyof P]?: string }; readonly paramsFromCli: true });

/**
 * {@link RunResult} for a pipeline returning `R`: every output is there when the run succeeded;
 * otherwise only those whose tasks finished.
 */
export type TypedRunResult<R extends OutputRefShape> =
  | (Omit<RunResult, 'outputs' | 'status'> & { readonly status: 'succeeded'; readonly outputs: PipelineOutputs<R> })
  | (Omit<RunResult, 'outputs' | 'status'> & { readonly status: Exclude<RunResult['status'], 'succeeded'>; readonly outputs: Partial<PipelineOutputs<R>> });

/** The options {@link runPipeline} takes for what it is given. */
export type RunOptionsFor<T> = T extends Pipeline<infer P, infer _R> ? TypedRunOptions<P> : RunOptions;

/** What {@link runPipeline} returns for what it is given. */
export type RunResultFor<T> = T extends Pipeline<infer _P, infer R> ? TypedRunResult<R> : RunResult;
