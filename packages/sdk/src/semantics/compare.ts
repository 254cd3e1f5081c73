/**
 * Comparison in conditions, once. Two operands compare **as numbers** when either side is declared
 * numeric (a `number`/`integer` parameter or output, or a number literal), otherwise **as text**
 * (strings as they are, other values as canonical JSON, so `true` equals `"true"`). A string that
 * merely looks numeric is text: `"10" > "9"` is false, locally and on Argo. The SDK writes the
 * decided mode into the IR (`compare.as`); readers use {@link compareMode}.
 */
import type { ComparePredicate, CompareOp, JsonValue, ParamType } from '../ir.ts';
import { canonicalJson } from './json.ts';

export type CompareAs = 'number' | 'text';

/** The type of a literal operand. */
export function literalType(v: JsonValue): ParamType {
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'boolean';
  if (Array.isArray(v)) return 'array';
  return v === null ? 'any' : 'object';
}

const NUMERIC: ReadonlySet<string> = new Set(['number', 'integer']);

/** The comparison mode of two operands of these declared types (`undefined`: unknown, as `any`). */
export function compareAs(left: ParamType | 'artifact' | undefined, right: ParamType | 'artifact' | undefined): CompareAs {
  return NUMERIC.has(left ?? 'any') || NUMERIC.has(right ?? 'any') ? 'number' : 'text';
}

/** The mode of a compare node: the one written in the IR, else decided from its literal operands. */
export function compareMode(p: ComparePredicate): CompareAs {
  if (p.as) return p.as;
  const t = (v: ComparePredicate['left']) => (v.kind === 'literal' ? literalType(v.value) : undefined);
  return compareAs(t(p.left), t(p.right));
}

/** The text of a value compared as text. */
export function compareText(v: unknown): string {
  return typeof v === 'string' ? v : canonicalJson(v);
}

/** The number of a value compared as a number; throws when it is none (Argo's `asFloat` fails the same way). */
export function compareNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  throw new Error(`cannot compare ${JSON.stringify(v)} as a number`);
}

function apply<T>(op: CompareOp, a: T, b: T): boolean {
  switch (op) {
    case '==': return a === b;
    case '!=': return a !== b;
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
  }
}

/**
 * Compares two run-time values in a mode.
 *
 * @example
 * compareValues('>', '10', '9', 'text')   // false
 * compareValues('>', '10', 9, 'number')   // true
 */
export function compareValues(op: CompareOp, a: unknown, b: unknown, as: CompareAs): boolean {
  return as === 'number' ? apply(op, compareNumber(a), compareNumber(b)) : apply(op, compareText(a), compareText(b));
}
