/** Converting zod schemas and artifact types into IR specs, and zod issues into Sluice issues. */
import { z } from 'zod';
import type { ArtifactListType, ArtifactType } from './artifacts.ts';
import { isArtifactType } from './artifacts.ts';
import type { SluiceIssue } from './errors.ts';
import type { IOSpec, JsonObject, JsonValue, ParamType } from './ir.ts';

/** What an input or output may be declared as: a zod schema or an artifact type. */
export type IOType = z.ZodType | ArtifactType | ArtifactListType;
export type IOShape = { readonly [name: string]: IOType };

const PARAM_TYPES = new Set<ParamType>(['string', 'number', 'integer', 'boolean', 'array', 'object']);

function jsonSchemaOf(schema: z.ZodType): JsonObject {
  try {
    const js = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
    delete js['$schema'];
    stripSafeIntegerBounds(js);
    return js as JsonObject;
  } catch {
    return {};
  }
}

/** zod writes the safe-integer range into every `.int()`; it says nothing, so leave it out. */
function stripSafeIntegerBounds(node: unknown): void {
  if (node === null || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if (o['minimum'] === Number.MIN_SAFE_INTEGER) delete o['minimum'];
  if (o['maximum'] === Number.MAX_SAFE_INTEGER) delete o['maximum'];
  for (const v of Object.values(o)) stripSafeIntegerBounds(v);
}

function isJsonValue(v: unknown): v is JsonValue {
  try {
    return JSON.stringify(v) !== undefined && JSON.stringify(JSON.parse(JSON.stringify(v))) === JSON.stringify(v);
  } catch {
    return false;
  }
}

/** The IR spec of one declared input or output. */
export function ioSpecOf(type: IOType, description?: string): IOSpec {
  if (isArtifactType(type)) {
    return {
      kind: 'artifact',
      artifactType: type.name,
      list: type.list,
      optional: false,
      ...(description ? { description } : {}),
    };
  }
  const schema = jsonSchemaOf(type);
  const t = schema['type'];
  const paramType: ParamType = typeof t === 'string' && PARAM_TYPES.has(t as ParamType) ? (t as ParamType) : 'any';
  const optional = type.safeParse(undefined).success;
  let dflt: JsonValue | undefined;
  if (optional) {
    const v = type.safeParse(undefined);
    if (v.success && v.data !== undefined && isJsonValue(v.data)) dflt = v.data;
  }
  const desc = description ?? type.description;
  return {
    kind: 'parameter',
    type: paramType,
    schema,
    optional,
    ...(dflt !== undefined ? { default: dflt } : {}),
    ...(desc ? { description: desc } : {}),
  };
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'nothing';
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
}

function zodPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/**
 * Validates a value with its zod schema; failures become issues at `path` with messages such as
 * `expected number, got "fast"`.
 */
export function checkValue(schema: z.ZodType, value: unknown, path: string, code = 'value.invalid'):
  { ok: true; value: unknown } | { ok: false; issues: SluiceIssue[] } {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const issues = r.error.issues.map((i): SluiceIssue => {
    const got = valueAt(value, i.path);
    const message = i.code === 'invalid_type'
      ? `expected ${(i as { expected: string }).expected}, got ${show(got)}`
      : `${i.message.charAt(0).toLowerCase()}${i.message.slice(1)}, got ${show(got)}`;
    return { code, path: `${path}${zodPath(i.path)}`, message };
  });
  return { ok: false, issues };
}

/** True when `value` is a plain JSON value (what a literal may be). */
export { isJsonValue };
