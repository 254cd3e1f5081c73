/**
 * Finished runs' page answers kept on disk, so that a first visit after the server restarts does
 * not read 10,000 task rows again. One file per run, in the user's cache directory (never in the
 * store: the view writes nothing there), named by the store's path and the run id. Each file
 * starts with the run's record stamp (its status, times and IR hash as the store has them, and
 * the code that computed the answer): a resume, a retry or a new store with a run of the same
 * id changes the stamp, and the file is not used (it is replaced at the next read).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { writeCacheFile } from '@sluice/executor/paths';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bumped when the page answer's shape changes (another shape never matches a stamp). */
const FORMAT = 2;
/** How many runs' answers a store keeps (the least recently written go first). */
const KEEP = 200;
const MAGIC = 'sluice-ui-page';

/** The record of a run a page answer depends on (a row of the store's `runs` table). */
export interface RunRecord {
  readonly id: string;
  readonly status: string;
  readonly created_at: number;
  readonly updated_at: number;
  readonly finished_at: number | null;
  readonly ir_hash: string;
}

/**
 * The default cache directory: `$SLUICE_UI_CACHE` (`off` for none), else
 * `$XDG_CACHE_HOME/sluice/ui`, else `~/.cache/sluice/ui`.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string | false {
  const v = env.SLUICE_UI_CACHE;
  if (v === 'off' || v === '0' || v === 'false') return false;
  if (v) return resolve(v);
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sluice', 'ui');
}

let code: string | undefined;
/** What computed the answers: this package's data and layout modules and the runner's run views (a changed one never matches). */
function codeStamp(): string {
  if (code !== undefined) return code;
  const h = createHash('sha256').update(String(FORMAT));
  const files = ['data', 'layout'].map((m) => new URL(import.meta.url.replace(/page-cache\.(ts|js)$/, `${m}.$1`)));
  try {
    const runner = import.meta.resolve('@sluice/runner');
    files.push(new URL(runner.endsWith('.ts') ? './query/runs.ts' : './query/runs.js', runner));
  } catch {
    /* not resolvable from here: the data module and the version decide */
  }
  for (const f of files) {
    try {
      h.update(readFileSync(fileURLToPath(f)));
    } catch {
      h.update(f.href);
    }
  }
  return (code = h.digest('base64url').slice(0, 16));
}

export class PageCache {
  private readonly dir: string;
  /** How many answers came from disk (tests). */
  hits = 0;
  constructor(cacheDir: string, storeRoot: string) {
    this.dir = join(cacheDir, 'pages', createHash('sha256').update(resolve(storeRoot)).digest('hex').slice(0, 16));
    codeStamp(); // the code's files are read and hashed when the server starts, not on a first visit
  }

  /** The stamp of a run's record: an answer is used only under the stamp it was computed for. */
  static stamp(r: RunRecord): string {
    return JSON.stringify([codeStamp(), r.id, r.status, r.created_at, r.updated_at, r.finished_at, r.ir_hash]);
  }

  private file(runId: string): string {
    return join(this.dir, `${/^[\w.-]{1,100}$/.test(runId) ? runId : createHash('sha256').update(runId).digest('hex')}.json`);
  }

  /** The kept answer (JSON text) for this stamp, or undefined (none, another stamp, unreadable). */
  get(runId: string, stamp: string): string | undefined {
    let text: string;
    try {
      text = readFileSync(this.file(runId), 'utf8');
    } catch {
      return undefined;
    }
    const nl = text.indexOf('\n');
    if (nl < 0 || text.slice(0, nl) !== `${MAGIC} ${stamp}`) return undefined;
    this.hits++;
    return text.slice(nl + 1);
  }

  /** Keeps an answer; a cache that cannot be written is no error (the next read computes it again). */
  put(runId: string, stamp: string, body: string): void {
    try {
      writeCacheFile(this.file(runId), `${MAGIC} ${stamp}\n${body}`);
      this.prune();
    } catch {
      /* read-only or full: not kept */
    }
  }

  private prune(): void {
    const names = readdirSync(this.dir).filter((n) => n.endsWith('.json'));
    if (names.length <= KEEP) return;
    const byAge = names.map((n) => ({ n, t: statSync(join(this.dir, n)).mtimeMs })).sort((a, b) => a.t - b.t);
    for (const { n } of byAge.slice(0, names.length - KEEP)) rmSync(join(this.dir, n), { force: true });
  }
}
