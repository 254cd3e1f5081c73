import type { IOSpec, JsonValue, PipelineIR, SluiceIssue } from '@sluice/sdk';

/**
 * Checks and completes pipeline parameters against the IR (the fallback when the SDK's
 * `parsePipelineParams` is not at hand): unknown and missing parameters, coarse types, defaults.
 * With `fromCli`, text is coerced by type (`"0.1"` for a number, `"true"` for a boolean, JSON for lists and objects).
 */
export function parseParamsFromIR(ir: PipelineIR, raw: Readonly<Record<string, unknown>>, fromCli = false): { ok: true; values: Record<string, JsonValue> } | { ok: false; issues: SluiceIssue[] } {
  const issues: SluiceIssue[] = [];
  const values: Record<string, JsonValue> = {};
  const path = (n: string) => `${ir.name}/params.${n}`;
  for (const name of Object.keys(raw)) {
    if (!(name in ir.params)) issues.push({ code: 'param.unknown', path: path(name), message: `unknown parameter (known: ${Object.keys(ir.params).join(', ') || 'none'})` });
  }
  for (const [name, spec] of Object.entries(ir.params) as [string, IOSpec][]) {
    if (spec.kind !== 'parameter') continue;
    let v = raw[name];
    if (v === undefined) {
      if (spec.default !== undefined) values[name] = spec.default;
      else if (!spec.optional) issues.push({ code: 'param.missing', path: path(name), message: `required parameter is missing (expected ${spec.type})` });
      continue;
    }
    if (fromCli && typeof v === 'string' && spec.type !== 'string') {
      const t = v;
      if (spec.type === 'number' || spec.type === 'integer') v = t.trim() === '' ? NaN : Number(t);
      else if (spec.type === 'boolean') v = t === 'true' ? true : t === 'false' ? false : t;
      else {
        try { v = JSON.parse(t); } catch { /* reported as a type error */ }
      }
      if (typeof v === 'number' && Number.isNaN(v)) v = t;
    }
    const got = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
    const ok =
      spec.type === 'any' ||
      (spec.type === 'integer' ? typeof v === 'number' && Number.isInteger(v) : spec.type === 'array' ? Array.isArray(v) : spec.type === 'object' ? got === 'object' : got === spec.type);
    if (!ok) issues.push({ code: 'param.type', path: path(name), message: `expected ${spec.type}, got ${typeof v === 'string' ? JSON.stringify(v) : got === 'object' || got === 'array' ? got : String(v)}` });
    else values[name] = v as JsonValue;
  }
  return issues.length ? { ok: false, issues } : { ok: true, values };
}
