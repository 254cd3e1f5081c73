import type { CacheIR, ComponentIR, JsonValue } from '@sluice/sdk';
import { cacheEntryFresh, canonicalJson, componentIdentity, sha256 } from '@sluice/sdk/semantics';
import { isArtifactRef, type RuntimeValue } from './types.ts';

/** Bump when the key's recipe changes. */
const KEY_FORMAT = 1;

/** The parts of a cache key, kept with each task so a miss can say which part changed. */
export interface CacheParts {
  /** Function: `code:<codeHash>`; container: `image:<sha256 of image and command>`. */
  readonly component: string;
  /** sha256 of each input parameter's canonical JSON. */
  readonly params: { readonly [name: string]: string };
  /** Content hash of each input artifact (lists: hashes joined by `,`). */
  readonly artifacts: { readonly [name: string]: string };
  readonly version: string;
  /** A custom key template, when the task sets `cache.key`. */
  readonly custom?: string;
  /**
   * sha256 of the bundle of the pipeline's module graph (@sluice/bundle), when the run has one: a
   * changed helper, module constant or dependency outside `run()` changes it.
   */
  readonly code?: string;
}

/** The key's parts; the component part is the SDK's `componentIdentity`, shared with the compiler's memoize key. */
export function cacheParts(component: ComponentIR, inputs: { readonly [name: string]: RuntimeValue }, version: string | undefined, custom?: string, code?: string): CacheParts {
  const params: Record<string, string> = {};
  const artifacts: Record<string, string> = {};
  for (const name of Object.keys(inputs).sort()) {
    const v = inputs[name] as RuntimeValue;
    if (isArtifactRef(v)) artifacts[name] = v.hash;
    else if (Array.isArray(v) && v.length > 0 && v.every(isArtifactRef)) artifacts[name] = v.map((a) => a.hash).join(',');
    else params[name] = sha256(canonicalJson(v as JsonValue));
  }
  return { component: componentIdentity(component), params, artifacts, version: version ?? '', ...(custom !== undefined ? { custom } : {}), ...(code !== undefined && component.kind === 'function' ? { code } : {}) };
}

export function cacheKey(parts: CacheParts): string {
  if (parts.custom !== undefined) return sha256(canonicalJson({ f: KEY_FORMAT, component: parts.component, custom: parts.custom, version: parts.version }));
  return sha256(canonicalJson({ f: KEY_FORMAT, ...parts }));
}

/** What a cache lookup needs of the store. */
export interface CacheReader {
  getCache(key: string): { readonly run_id: string; readonly task_key: string; readonly outputs: string; readonly created_at: number } | undefined;
}

export type CacheLookup =
  | { readonly hit: true; readonly entry: { readonly run_id: string; readonly task_key: string; readonly outputs: string; readonly created_at: number } }
  | { readonly hit: false; readonly why: 'disabled' | 'absent' | 'expired' | 'lookups off' };

/**
 * The one cache lookup of the engine and the dry run: off when the task's cache is disabled or
 * lookups are off (`--no-cache`), else the entry under `key` when it is fresh under `maxAge`
 * (SDK `cacheEntryFresh`). Whether the entry's artifacts are still in the store is the caller's.
 */
export function lookupCache(store: CacheReader | undefined, policy: CacheIR, key: string, nowMs: number, lookups = true): CacheLookup {
  if (!policy.enabled) return { hit: false, why: 'disabled' };
  if (!lookups || !store) return { hit: false, why: 'lookups off' };
  const entry = store.getCache(key);
  if (!entry) return { hit: false, why: 'absent' };
  if (!cacheEntryFresh(policy, entry.created_at, nowMs)) return { hit: false, why: 'expired' };
  return { hit: true, entry };
}

/** Says which parts of the key differ from an earlier run of the same task; empty when none does. */
export function explainMiss(now: CacheParts, before: CacheParts): string[] {
  const out: string[] = [];
  if (now.component !== before.component) out.push(now.component.split(':')[0] === 'code' ? 'the component code changed' : 'the component image or command changed');
  if (now.version !== before.version) out.push(`cache version changed (${JSON.stringify(before.version)} → ${JSON.stringify(now.version)})`);
  if (now.custom !== before.custom) out.push('the custom cache key changed');
  if (now.code !== before.code) out.push(`the pipeline's code changed outside run() (a helper, module constant or dependency it imports; bundle ${(before.code ?? 'none').slice(0, 12)} → ${(now.code ?? 'none').slice(0, 12)})`);
  const names = (a: object, b: object) => [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const n of names(now.params, before.params)) {
    if (!(n in before.params)) out.push(`parameter ${n} was added`);
    else if (!(n in now.params)) out.push(`parameter ${n} was removed`);
    else if (now.params[n] !== before.params[n]) out.push(`parameter ${n} changed`);
  }
  for (const n of names(now.artifacts, before.artifacts)) {
    if (!(n in before.artifacts)) out.push(`artifact ${n} was added`);
    else if (!(n in now.artifacts)) out.push(`artifact ${n} was removed`);
    else if (now.artifacts[n] !== before.artifacts[n]) out.push(`artifact ${n} content changed (${(before.artifacts[n] as string).slice(0, 12)} → ${(now.artifacts[n] as string).slice(0, 12)})`);
  }
  return out;
}

interface TaskLike { readonly key: string; readonly state: string; readonly cache_key: string | null; readonly cache_parts: string | null }

/**
 * Why each task of a run missed the cache: its key parts compared with the same task in the
 * latest earlier run of the pipeline that ran it (looking back at most `lookback` runs).
 * Computed when asked (`sluice show`), so the engine pays nothing for it.
 */
export function explainMisses(tasks: readonly TaskLike[], earlierRuns: () => Iterable<readonly TaskLike[]>, lookback = 50): Map<string, string> {
  const out = new Map<string, string>();
  const want = new Map(tasks.filter((t) => t.state !== 'cached' && t.cache_parts && t.state !== 'skipped').map((t) => [t.key, t]));
  let seen = 0;
  for (const run of earlierRuns()) {
    if (!want.size || seen++ >= lookback) break;
    for (const prev of run) {
      const t = want.get(prev.key);
      if (!t || !prev.cache_parts || (prev.state !== 'succeeded' && prev.state !== 'cached')) continue;
      const why = explainMiss(JSON.parse(t.cache_parts as string) as CacheParts, JSON.parse(prev.cache_parts) as CacheParts);
      out.set(t.key, why.length ? why.join('; ') : prev.cache_key === t.cache_key ? 'same key as before: the entry was missing or expired, or lookups were off (--no-cache)' : 'no difference found in the key parts');
      want.delete(prev.key);
    }
  }
  for (const k of want.keys()) out.set(k, 'first run of this task');
  return out;
}
