/**
 * Paths a user points Sluice at (a pipeline file, its cache, a store, a new project): what kind of
 * thing is there, folders made without the hang of Node 20's recursive `mkdirSync` on a pseudo
 * file system, and Sluice's own cache files written whole. Depends on nothing but Node.
 */
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** What is at a path: a regular file, a folder, something else (a device, FIFO or socket), or nothing. */
export type PathKind = 'file' | 'directory' | 'special' | 'missing';

/** What is at `path` (links followed; a path that cannot be looked at counts as missing). */
export function pathKind(path: string): PathKind {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 'missing';
  }
  return st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'special';
}

/** How a user is told what is at a path that should have been a regular file. */
export const NOT_A_FILE: { readonly [k in 'directory' | 'special']: string } = {
  directory: 'is a directory',
  special: 'is not a regular file (a device, FIFO or socket)',
};

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

/** Writes one of Sluice's cache files whole (a reader sees the old text or the new): private, its folder made if missing. Throws when it cannot. */
export function writeCacheFile(file: string, text: string): void {
  makeDir(dirname(file), 0o700);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}
