/**
 * Folders made where a user points Sluice (its cache, a store, a new project), without the hang of
 * Node 20's recursive `mkdirSync` on a pseudo file system. Depends on nothing but Node.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p` that always ends: Node 20's recursive `mkdirSync` loops for ever where mkdir answers
 * ENOENT under a folder that exists (procfs, sysfs: `SLUICE_CACHE=/proc/x`, `--store /proc/x`).
 * Makes the missing folders from the first existing one down, each with `mode`.
 *
 * @throws the file system's error (ENOENT there, EACCES, ENOTDIR when a file is in the way).
 */
export function makeDir(dir: string, mode = 0o777): void {
  const abs = resolve(dir);
  const st = statSync(abs, { throwIfNoEntry: false });
  if (st) {
    if (!st.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${abs}'`), { code: 'ENOTDIR', path: abs });
    return;
  }
  makeDir(dirname(abs), mode);
  try {
    mkdirSync(abs, { mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}
