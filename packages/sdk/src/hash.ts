export { canonicalJson, sha256, contentHash } from './semantics/json.ts';

/** Deep-freezes a plain JSON-like value and returns it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) { const v: unknown = value[i]; if (v !== null && typeof v === 'object') deepFreeze(v); }
    } else {
      const o = value as Record<string, unknown>;
      for (const k of Object.keys(o)) { const v = o[k]; if (v !== null && typeof v === 'object') deepFreeze(v); }
    }
  }
  return value;
}
