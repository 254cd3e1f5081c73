import { relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An error of the executor with a stable code (`entry.missing`, `artifact.name`, ...). */
export class ExecutorError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ExecutorError';
    this.code = code;
  }
}

/** Where Sluice's own sources live: frames there are ours, not the user's. */
const OURS = resolve(import.meta.dirname, '..', '..');

/** The first frame of `stack` in the user's code (not Node's, not a dependency's, not Sluice's), as `file:line:col`. */
export function userFrame(stack: string | undefined): string | undefined {
  for (const line of (stack ?? '').split('\n').slice(1)) {
    const m = /(?:^|[\s(])((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    let file = m[1] as string;
    if (file.startsWith('file://')) {
      try { file = fileURLToPath(file); } catch { continue; }
    }
    if (file.includes(`${sep}node_modules${sep}`)) continue;
    const rel = relative(OURS, file);
    if (!rel.startsWith('..') && /^[^/]+\/(src|bin)\//.test(rel.split(sep).join('/'))) continue;
    const shown = relative(process.cwd(), file);
    return `${shown && !shown.startsWith('..') ? shown : file}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

/**
 * What `sluice exec` says when the pipeline file cannot be loaded: Sluice's own errors (a missing
 * file, no such export) by their message, anything the user's module threw at its place in the
 * user's code, without our stack (`SLUICE_DEBUG=1` adds it).
 */
export function loadErrorText(file: string, e: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const err = e instanceof Error ? e : new Error(String(e));
  if (err.name === 'ExecutorError') return `cannot load ${file}: ${err.message}`;
  const at = userFrame(err.stack);
  const debug = env.SLUICE_DEBUG === '1' && err.stack ? `\n${err.stack}` : '';
  return `cannot load ${file}: ${at ? `${at}: ` : ''}${err.name}: ${err.message}\n(the error was thrown while loading ${file}${debug ? '' : '; SLUICE_DEBUG=1 shows the whole stack'})${debug}`;
}
