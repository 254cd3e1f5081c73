import { ExecutorError } from './errors.ts';

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Throws unless `name` is a plain file name (no separators, no `..`), so it cannot escape its directory. */
export function checkArtifactName(name: string, what = 'artifact name'): string {
  if (!NAME_RE.test(name) || name === '.' || name === '..' || name.includes('..'))
    throw new ExecutorError('artifact.name', `invalid ${what} "${name}": expected letters, digits, '_', '-' or '.', without path separators or '..'`);
  return name;
}
