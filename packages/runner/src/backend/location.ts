import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RunnerError } from '../errors.ts';

/** Where a local store was found, and how. */
export interface StoreLocation {
  /** Absolute path of the store directory (`…/.sluice`). */
  readonly root: string;
  /** `flag`: `--store`; `env`: `SLUICE_STORE`; `found`: a `.sluice/` in this or a parent directory; `default`: `./.sluice` (not there yet). */
  readonly how: 'flag' | 'env' | 'found' | 'default';
}

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/**
 * Finds the local store as Metaflow finds `.metaflow`: `--store` when given, else `SLUICE_STORE`,
 * else the nearest `.sluice/` in the working directory or one of its parents, else
 * `./.sluice` (created by the first run).
 *
 * @example
 * locateStore({ cwd: '/repo/examples/iris' }) // { root: '/repo/.sluice', how: 'found' } after a run in /repo
 */
export function locateStore(o: { readonly flag?: string | undefined; readonly env?: NodeJS.ProcessEnv; readonly cwd?: string } = {}): StoreLocation {
  const cwd = o.cwd ?? process.cwd();
  if (o.flag !== undefined) {
    if (o.flag.trim() === '') throw new RunnerError('store.empty', '--store needs a directory (got an empty string)');
    return { root: resolve(cwd, o.flag), how: 'flag' };
  }
  const env = (o.env ?? process.env).SLUICE_STORE;
  if (env !== undefined && env !== '') return { root: resolve(cwd, env), how: 'env' };
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, '.sluice');
    if (isDir(candidate) && (existsSync(join(candidate, 'state.db')) || dir === resolve(cwd))) return { root: candidate, how: 'found' };
    if (dirname(dir) === dir) break;
  }
  return { root: resolve(cwd, '.sluice'), how: 'default' };
}
