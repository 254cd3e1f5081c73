/**
 * Type-level wiring: from declared inputs/outputs (zod schemas and artifact types) to what a task
 * accepts, what its outputs are, and what a function component's `run` receives and returns.
 */
import type { z } from 'zod';
import type { ArtifactListType, ArtifactType } from './artifacts.ts';
import type { ArtifactListRef, ArtifactRef, ParamRef } from './refs.ts';
import type { InputArtifact, MetricsOutput, OutputArtifact } from './runtime.ts';
import type { IOShape, IOType } from './schema.ts';

type AnyName<N extends string> = N extends 'Artifact' ? string : N;

/** What a task accepts for an input declared as `S`: a literal, or a reference of the right type. */
export type InputValue<S> =
  S extends ArtifactListType<infer N> ? ArtifactListRef<AnyName<N>>
  : S extends ArtifactType<infer N> ? ArtifactRef<AnyName<N>>
  : S extends z.ZodType ? z.input<S> | ParamRef<z.output<S>>
  : never;

type OptionalKeys<I extends IOShape> = {
  [K in keyof I]: I[K] extends z.ZodType ? (undefined extends z.input<I[K]> ? K : never) : never;
}[keyof I];
type RequiredKeys<I extends IOShape> = Exclude<keyof I, OptionalKeys<I>>;

/** The argument object of a task call: required inputs must be given, unknown names are rejected. */
export type TaskArgs<I extends IOShape> =
  { [K in RequiredKeys<I>]: InputValue<I[K]> } & { [K in OptionalKeys<I>]?: InputValue<I[K]> };

/** The reference a task output declared as `S` becomes. */
export type OutputRef<S> =
  S extends ArtifactListType<infer N> ? ArtifactListRef<N>
  : S extends ArtifactType<infer N> ? ArtifactRef<N>
  : S extends z.ZodType ? ParamRef<z.output<S>>
  : never;

/** A task's `outputs`: one typed reference per declared output. */
export type TaskOutputs<O extends IOShape> = { readonly [K in keyof O]: OutputRef<O[K]> };

/** What `run` receives: parsed parameter values and materialised input artifacts. */
export type RunInputs<I extends IOShape> = {
  readonly [K in keyof I]:
    I[K] extends ArtifactListType<infer N> ? readonly InputArtifact<N>[]
    : I[K] extends ArtifactType<infer N> ? InputArtifact<N>
    : I[K] extends z.ZodType ? z.output<I[K]>
    : never;
};

type ArtifactKeys<O extends IOShape> = { [K in keyof O]: O[K] extends ArtifactType | ArtifactListType ? K : never }[keyof O];
type ParamKeys<O extends IOShape> = Exclude<keyof O, ArtifactKeys<O>>;

/** `ctx.outputs`: a handle per artifact output; `Metrics` outputs can `log(name, value)`. */
export type OutputHandles<O extends IOShape> = {
  readonly [K in ArtifactKeys<O>]: O[K] extends ArtifactType<infer N> ? (N extends 'Metrics' ? MetricsOutput : OutputArtifact<N>) : never;
};

/** What `run` returns: the parameter outputs (artifact outputs are written through `ctx.outputs`). */
export type RunResult<O extends IOShape> = [ParamKeys<O>] extends [never]
  ? void | Record<string, never>
  : { [K in ParamKeys<O>]: O[K] extends z.ZodType ? z.input<O[K]> : never };

/** Types a pipeline's returned outputs accept. */
export type OutputRefShape = { readonly [name: string]: ParamRef<any> | ArtifactRef<string> | ArtifactListRef<string> };

/** The IO type an output reference stands for (for a pipeline used as a component). */
export type RefIOType<R> = R extends ArtifactRef<infer N> ? ArtifactType<N> : R extends ArtifactListRef<infer N> ? ArtifactListType<N> : R extends ParamRef<infer T> ? z.ZodType<T> : IOType;
