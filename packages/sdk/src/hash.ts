export { canonicalJson, sha256, contentHash } from './semantics/json.ts';

/** Deep-freezes a plain JSON-like value and returns it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
