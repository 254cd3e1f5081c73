/**
 * Typed references: what a task's outputs, a pipeline's parameters and a loop's items are while a
 * pipeline is being defined. They carry a phantom type so that the wiring type-checks, and an
 * internal thunk producing their `ValueIR` once every task id is final.
 */
import type { IOSpec, PredicateIR, ValueIR, JsonValue, CompareOp, ParamType } from './ir.ts';
import { compareAs, literalType } from './semantics/compare.ts';

declare const phantom: unique symbol;

/** @internal */
export const REF = Symbol.for('sluice.ref');
/** @internal */
export const PRED = Symbol.for('sluice.predicate');

/** @internal What a reference is underneath. */
export interface RefInternals {
  value(): ValueIR;
  readonly spec: IOSpec | undefined;
  /** The task output it names, when it names one (for `collect` and `oneOf`). */
  readonly source?: { readonly task: object; readonly output: string; readonly taskId: () => string };
}

/** A condition on references and values, built with `.eq`, `.gt`, ... and combined with `and`/`or`/`not`. */
export interface Condition {
  readonly [PRED]: () => PredicateIR;
  /** Both this and `other` hold. */
  and(other: Condition): Condition;
  /** This or `other` holds. */
  or(other: Condition): Condition;
  /** This does not hold. */
  not(): Condition;
}

type Operand<T> = T | ParamRef<T>;

/**
 * A parameter value that exists only at run time: a pipeline parameter, a task's parameter
 * output, or a loop item. `T` is its type; passing it where another type is expected does not compile.
 */
export interface ParamRef<T> {
  readonly [phantom]: { readonly param: T };
  /** @internal */
  readonly [REF]: RefInternals;
  /** `this == v` */
  eq(v: Operand<T>): Condition;
  /** `this != v` */
  ne(v: Operand<T>): Condition;
  /** `this > v` */
  gt(v: Operand<number>): Condition;
  /** `this >= v` */
  gte(v: Operand<number>): Condition;
  /** `this < v` */
  lt(v: Operand<number>): Condition;
  /** `this <= v` */
  lte(v: Operand<number>): Condition;
  /**
   * A field of an object value (for loop items over objects).
   *
   * @example
   * p.forEach([{ lr: 0.1, depth: 3 }], (hp) => train({ lr: hp.get('lr'), depth: hp.get('depth') }));
   */
  get<K extends keyof T & string>(key: K): ParamRef<T[K]>;
}

/** An artifact produced at run time. Its type name is part of its type: a `Model` is not a `Dataset`. */
export interface ArtifactRef<N extends string> {
  readonly [phantom]: { readonly artifact: N };
  /** @internal */
  readonly [REF]: RefInternals;
}

/** The artifacts of one task output over every iteration of a loop (fan-in). */
export interface ArtifactListRef<N extends string> {
  readonly [phantom]: { readonly artifactList: N };
  /** @internal */
  readonly [REF]: RefInternals;
}

/** Any reference. */
export type AnyRef = ParamRef<unknown> | ArtifactRef<string> | ArtifactListRef<string>;

export function isRef(x: unknown): x is AnyRef {
  return typeof x === 'object' && x !== null && REF in x;
}

export function isCondition(x: unknown): x is Condition {
  return typeof x === 'object' && x !== null && PRED in x;
}

function operandValue(v: unknown): ValueIR {
  return isRef(v) ? v[REF].value() : { kind: 'literal', value: v as JsonValue };
}

export function makeCondition(build: () => PredicateIR): Condition {
  const c: Condition = {
    [PRED]: build,
    and: (o) => makeCondition(() => ({ kind: 'and', args: [build(), o[PRED]()] })),
    or: (o) => makeCondition(() => ({ kind: 'or', args: [build(), o[PRED]()] })),
    not: () => makeCondition(() => ({ kind: 'not', arg: build() })),
  };
  return Object.freeze(c);
}

function operandType(spec: IOSpec | undefined): ParamType | 'artifact' | undefined {
  return spec === undefined ? undefined : spec.kind === 'artifact' ? 'artifact' : spec.type;
}

function compare(self: RefInternals, op: CompareOp, v: unknown): Condition {
  // The comparison mode is decided here, from the declared types, and written into the IR.
  const right = isRef(v) ? operandType(v[REF].spec) : literalType(v as JsonValue);
  const as = compareAs(operandType(self.spec), right);
  return makeCondition(() => ({ kind: 'compare', op, left: self.value(), right: operandValue(v), as }));
}

const PARAM_TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object'];

/** The methods of every reference: on the prototype (a 10,000-task pipeline makes many). */
abstract class Ref {
  abstract get [REF](): RefInternals;
  eq(v: unknown): Condition { return compare(this[REF], '==', v); }
  ne(v: unknown): Condition { return compare(this[REF], '!=', v); }
  gt(v: unknown): Condition { return compare(this[REF], '>', v); }
  gte(v: unknown): Condition { return compare(this[REF], '>=', v); }
  lt(v: unknown): Condition { return compare(this[REF], '<', v); }
  lte(v: unknown): Condition { return compare(this[REF], '<=', v); }
  get(key: string): AnyRef {
    const internals = this[REF];
    const spec = internals.spec;
    let fieldSpec: IOSpec | undefined;
    if (spec?.kind === 'parameter') {
      const props = (spec.schema as { properties?: Record<string, Record<string, JsonValue>> }).properties;
      const fs = props?.[key];
      const t = fs?.['type'];
      fieldSpec = {
        kind: 'parameter',
        type: typeof t === 'string' && PARAM_TYPES.includes(t) ? (t as 'string') : 'any',
        schema: fs ?? {},
        optional: false,
      };
    }
    return makeRef({
      value: () => {
        const v = internals.value();
        if (v.kind !== 'item') throw new TypeError(`.get("${key}") is only available on loop items`);
        return { kind: 'item', loop: v.loop, path: [...v.path, key] };
      },
      spec: fieldSpec,
    });
  }
}

/** A reference over internals given as an object (parameters, loop items, fan-in, ...). */
class InternalsRef extends Ref {
  readonly #internals: RefInternals;
  constructor(internals: RefInternals) {
    super();
    this.#internals = internals;
    Object.freeze(this);
  }
  get [REF](): RefInternals { return this.#internals; }
}

/**
 * @internal A task output's reference: one object that is also its own internals and `source`
 * (no second object per output). The value names the task by its id when read, since `.named()`
 * may change it. Its state is private: a reference shows nothing but its methods.
 */
export class OutputRef extends Ref implements RefInternals {
  readonly #task: { readonly id: string };
  readonly #output: string;
  readonly #spec: IOSpec;
  constructor(task: { readonly id: string }, output: string, spec: IOSpec) {
    super();
    this.#task = task;
    this.#output = output;
    this.#spec = spec;
    Object.freeze(this);
  }
  get [REF](): RefInternals { return this; }
  get spec(): IOSpec { return this.#spec; }
  get source(): NonNullable<RefInternals['source']> { return this; }
  get task(): object { return this.#task; }
  get output(): string { return this.#output; }
  value(): ValueIR { return { kind: 'output', task: this.#task.id, output: this.#output }; }
  taskId(): string { return this.#task.id; }
}

/** Makes a reference object. `spec` describes its value (for type checks between tasks). */
export function makeRef(internals: RefInternals): AnyRef {
  return new InternalsRef(internals) as unknown as AnyRef;
}

/**
 * Every one of the conditions holds.
 *
 * @example
 * p.when(and(score.outputs.accuracy.gte(0.9), score.outputs.f1.gte(0.8)), () => register({ model }));
 */
export function and(...cs: Condition[]): Condition {
  return makeCondition(() => ({ kind: 'and', args: cs.map((c) => c[PRED]()) }));
}

/** At least one of the conditions holds. */
export function or(...cs: Condition[]): Condition {
  return makeCondition(() => ({ kind: 'or', args: cs.map((c) => c[PRED]()) }));
}

/** The condition does not hold. */
export function not(c: Condition): Condition {
  return makeCondition(() => ({ kind: 'not', arg: c[PRED]() }));
}
