/**
 * Canonical JSON and content hashes: the basis of every hash in Sluice (component hashes, IR
 * hashes, local cache keys). One definition, used by the SDK, the compiler and the local engine.
 */
import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, `undefined` object
 * members dropped (and `undefined` array items written as `null`, as `JSON.stringify` does).
 *
 * Non-finite numbers (`NaN`, `Infinity`) are refused with a `TypeError`: `JSON.stringify` would
 * write them as `null`, so a cache key of `NaN` would equal the key of `null`. They are not JSON
 * values and cannot reach a pod either.
 *
 * @example
 * canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 * canonicalJson(Number.NaN)                  // throws TypeError
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`cannot serialise ${value} as JSON`);
    if (typeof value === 'bigint') throw new TypeError(`cannot serialise the bigint ${value} as JSON`);
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined || typeof v === 'function' ? 'null' : canonicalJson(v))).join(',')}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined || typeof v === 'function') continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** sha256 hex of a string (UTF-8) or bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Short content hash (16 hex chars) of a JSON value's canonical form. */
export function contentHash(value: unknown): string {
  return sha256(canonicalJson(value)).slice(0, 16);
}
