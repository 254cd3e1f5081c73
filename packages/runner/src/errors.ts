import type { SluiceIssue } from '@sluice/sdk';
import { userFrame } from '@sluice/executor/errors';
import { statfsSync } from 'node:fs';

/** An error of the local runner with a stable code (`store.corrupt`, `run.leased`, ...). */
export class RunnerError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RunnerError';
    this.code = code;
  }
}

/** Thrown when parameters are invalid; nothing has run. */
export class ParamsError extends RunnerError {
  readonly issues: readonly SluiceIssue[];
  constructor(issues: readonly SluiceIssue[]) {
    super('params.invalid', `invalid parameters:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    this.issues = issues;
  }
}

// (the first frame of a stack in the user's code: the executor's rule, which `sluice exec` uses too)
export { userFrame } from '@sluice/executor/errors';

/** An error thrown by the user's own module while it was being loaded: reported at the user's frame, without our stack. */
export class UserModuleError extends RunnerError {
  readonly original: unknown;
  constructor(file: string, e: unknown) {
    const err = e instanceof Error ? e : new Error(String(e));
    const at = userFrame(err.stack);
    super('user.module', `${at ?? file}: ${err.name}: ${err.message}\n(the error was thrown while loading ${file}; SLUICE_DEBUG=1 shows the whole stack)`);
    this.original = e;
  }
}

/**
 * Runs `load` (an import of the user's pipeline module); an error that is not one of Sluice's own
 * (a missing file, no such export) becomes a {@link UserModuleError}.
 */
export async function loadingUserModule<T>(file: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const name = (e as Error | undefined)?.name;
    if (e instanceof RunnerError || name === 'ExecutorError' || name === 'SluiceValidationError') throw e;
    throw new UserModuleError(file, e);
  }
}

/** A message for a failure of the file system or the state database that the user can act on, or undefined. */
export function environmentProblem(e: unknown, dir?: string): string | undefined {
  const code = (e as { code?: string } | undefined)?.code ?? '';
  const msg = (e as Error | undefined)?.message ?? '';
  // SQLite reports a failed write to a full disk as an I/O error as often as SQLITE_FULL
  if (dir && (code.startsWith('SQLITE_IOERR') || code === 'EIO') && diskFull(dir)) return `the disk is full (${msg.split('\n')[0]}); free some space, then \`sluice resume\` continues the run`;
  if (code === 'ENOSPC' || code === 'SQLITE_FULL' || /database or disk is full/.test(msg)) return `the disk is full (${msg.split('\n')[0]}); free some space, then \`sluice resume\` continues the run`;
  if (code === 'EDQUOT') return `disk quota exceeded (${msg.split('\n')[0]})`;
  if (code === 'EROFS' || code.startsWith('SQLITE_READONLY')) return `the store is on a read-only file system or cannot be written (${msg.split('\n')[0]})`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${msg.split('\n')[0]})`;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return `the state store is locked by another process (${msg.split('\n')[0]}); try again when it is done`;
  if (code === 'SQLITE_IOERR' || code.startsWith('SQLITE_IOERR') || code === 'EIO') return `input/output error on the store (${msg.split('\n')[0]})`;
  // better-sqlite3's binding is compiled for one Node ABI: it fails to load after a switch of Node
  // version (20 and 22 differ), or is missing when its install script did not run.
  const built = code === 'ERR_DLOPEN_FAILED' ? /NODE_MODULE_VERSION (\d+)/.exec(msg) : null;
  if (built && /better_sqlite3\.node/.test(msg))
    return `better-sqlite3 (the local store) was built for another Node.js (NODE_MODULE_VERSION ${built[1]}; this is Node ${process.versions.node}, NODE_MODULE_VERSION ${process.versions.modules}): run \`npm rebuild better-sqlite3\` with this Node`;
  if (/^Could not locate the bindings file/.test(msg) && /better_sqlite3\.node/.test(msg))
    return `better-sqlite3 (the local store) has no binding built for Node ${process.versions.node} (its install script did not run or failed): run \`npm rebuild better-sqlite3\`; building it needs Python 3, make and a C++ compiler`;
  return undefined;
}

/** Less than 64 KiB free for unprivileged writers on the file system of `dir`. */
export function diskFull(dir: string): boolean {
  try {
    const st = statfsSync(dir);
    return st.bavail * st.bsize < 65536;
  } catch {
    return false;
  }
}
