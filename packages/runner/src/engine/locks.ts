/**
 * Synchronization (`synchronization.mutexes` / `semaphores`) for local runs: what a task or run
 * must hold, semaphore sizes, and waiting for a release. The holds themselves live in the store's
 * `locks` table ({@link StateStore.tryLocks}), so they are shared by every run using that store.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SynchronizationIR } from '@sluice/sdk';
import { RunnerError } from '../errors.ts';

/** One lock to hold: a mutex is a semaphore of size 1 in its own namespace. */
export interface LockWant {
  readonly kind: 'mutex' | 'semaphore' | 'gpu';
  /** The mutex name, or `<configMap>/<key>` for a semaphore. */
  readonly name: string;
  readonly size: number;
}

/** Semaphore sizes by `<configMap>/<key>`. */
export type SemaphoreSizes = ReadonlyMap<string, number>;

function size(v: unknown, name: string, from: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
    throw new RunnerError('semaphores.invalid', `${from}: semaphore ${name} must have a whole number size of at least 1, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Parses `SLUICE_SEMAPHORES` (`limits/trainers=2,limits/loaders=1`).
 *
 * @example parseSemaphoreEnv('limits/trainers=2') // Map { 'limits/trainers' => 2 }
 */
export function parseSemaphoreEnv(text: string, from = 'SLUICE_SEMAPHORES'): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([^=/\s]+)\/([^=\s]+)=(.*)$/.exec(part);
    if (!m) throw new RunnerError('semaphores.invalid', `${from}: expected <configMap>/<key>=<size>, got "${part}"`);
    const name = `${m[1]}/${m[2]}`;
    out.set(name, size(m[3], name, from));
  }
  return out;
}

/**
 * Parses `semaphores.json`: `{ "limits/trainers": 2 }`, or shaped like the config maps
 * `{ "limits": { "trainers": 2 } }`.
 */
export function parseSemaphoreJson(text: string, from: string): Map<string, number> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new RunnerError('semaphores.invalid', `${from}: not JSON (${(e as Error).message})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new RunnerError('semaphores.invalid', `${from}: expected an object such as {"limits/trainers": 2}`);
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(data)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      for (const [key, n] of Object.entries(v)) out.set(`${k}/${key}`, size(n, `${k}/${key}`, from));
    } else {
      if (!k.includes('/')) throw new RunnerError('semaphores.invalid', `${from}: "${k}" is not <configMap>/<key>`);
      out.set(k, size(v, k, from));
    }
  }
  return out;
}

/** Sizes from `<store>/semaphores.json`, overridden by `SLUICE_SEMAPHORES`, overridden by `given`. */
export function semaphoreSizes(storeRoot: string, env: NodeJS.ProcessEnv = process.env, given?: Readonly<Record<string, number>>): Map<string, number> {
  const file = join(storeRoot, 'semaphores.json');
  const sizes = existsSync(file) ? parseSemaphoreJson(readFileSync(file, 'utf8'), file) : new Map<string, number>();
  if (env.SLUICE_SEMAPHORES) for (const [k, v] of parseSemaphoreEnv(env.SLUICE_SEMAPHORES)) sizes.set(k, v);
  for (const [k, v] of Object.entries(given ?? {})) sizes.set(k, size(v, k, 'semaphores option'));
  return sizes;
}

/** What `sync` asks to hold; `unsized` is told about each semaphore that has no local size (it gets 1). */
export function wantedLocks(sync: SynchronizationIR | undefined, sizes: SemaphoreSizes, unsized: (name: string) => void = () => {}): LockWant[] {
  const out: LockWant[] = [];
  for (const m of sync?.mutexes ?? []) out.push({ kind: 'mutex', name: m, size: 1 });
  for (const s of sync?.semaphores ?? []) {
    const name = `${s.configMap}/${s.key}`;
    const n = sizes.get(name);
    if (n === undefined) unsized(name);
    out.push({ kind: 'semaphore', name, size: n ?? 1 });
  }
  return out;
}

/** `mutex gpu-node`, `semaphore limits/trainers (2 at a time)`. */
export function describeLock(w: LockWant): string {
  return w.kind === 'mutex' ? `mutex ${w.name}` : w.kind === 'gpu' ? `GPU ${w.name}` : `semaphore ${w.name} (${w.size} at a time)`;
}

export function unsizedWarning(name: string): string {
  const [configMap, key] = [name.slice(0, name.indexOf('/')), name.slice(name.indexOf('/') + 1)];
  return `semaphore ${name} has no local size (set SLUICE_SEMAPHORES=${name}=<n> or .sluice/semaphores.json; Argo reads it from config map ${configMap}, key ${key}); using 1`;
}

// Waiters in this process are woken when this process releases a lock on the same store; waiters
// for holders in other processes poll.
const local = new Map<string, Set<() => void>>();

/** Wakes the waiters of this process on `storeFile` (call once a release is committed). */
export function notifyReleased(storeFile: string): void {
  const ws = local.get(storeFile);
  if (!ws) return;
  local.delete(storeFile);
  for (const w of ws) w();
}

/** Resolves after `ms`, when a lock on `storeFile` is released in this process, or on abort. */
export function waitForRelease(storeFile: string, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    let ws = local.get(storeFile);
    if (!ws) local.set(storeFile, (ws = new Set()));
    const set = ws;
    const done = () => {
      clearTimeout(t);
      set.delete(done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    set.add(done);
    signal?.addEventListener('abort', done, { once: true });
  });
}
