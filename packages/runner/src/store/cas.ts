import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { contentHash as executorContentHash } from '@sluice/executor/content-hash';
import { RunnerError } from '../errors.ts';

export { checkArtifactName } from '@sluice/executor/names';

/** Joins `parts` under `root` and throws if the result would lie outside it. */
export function resolveInside(root: string, ...parts: string[]): string {
  const r = resolve(root);
  const p = resolve(r, ...parts);
  if (p !== r && !p.startsWith(r + sep)) throw new RunnerError('artifact.escape', `path ${parts.join('/')} escapes the artifact root ${r}`);
  return p;
}

/**
 * Content hash of a file (sha256 of its bytes) or a directory (sha256 of its sorted listing:
 * `d <path>` and `f <path> <sha256>` lines). Symbolic links are refused. The executor's function
 * (what a pod records for its outputs), with the runner's error.
 */
export async function contentHash(path: string): Promise<{ hash: string; size: number }> {
  try {
    return await executorContentHash(path);
  } catch (e) {
    if (e instanceof Error && e.name === 'ExecutorError') throw new RunnerError((e as Error & { code: string }).code, e.message);
    throw e;
  }
}

/**
 * A cheap fingerprint of a stored object, recorded when it is ingested: total size, number of
 * entries and the latest change time (ctime: any write, rename, chmod or utimes changes it, and it
 * cannot be set back). A differing stamp means "hash it again", not "corrupt".
 */
export function objectStamp(path: string): string {
  const st = lstatSync(path);
  if (!st.isDirectory()) return `${st.size}:1:${st.ctimeMs}:${st.mtimeMs}`;
  let size = 0;
  let n = 1;
  let ctime = st.ctimeMs;
  let mtime = st.mtimeMs;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      const s2 = lstatSync(full);
      n++;
      if (s2.ctimeMs > ctime) ctime = s2.ctimeMs;
      if (s2.mtimeMs > mtime) mtime = s2.mtimeMs;
      if (s2.isDirectory()) walk(full);
      else size += s2.size;
    }
  };
  walk(path);
  return `${size}:${n}:${ctime}:${mtime}`;
}

/** Makes an object read-only: files 0444 (directories keep their write bit, so that `rm -r` works; the stamp covers them). */
function freeze(path: string): void {
  const st = lstatSync(path);
  if (st.isDirectory()) {
    for (const e of readdirSync(path)) freeze(join(path, e));
  } else if (st.isFile()) chmodSync(path, 0o444);
}

/** What {@link ArtifactStore.check} found. */
export type ObjectState = 'ok' | 'missing' | 'corrupt';

/** A content-addressed store of artifacts: `<root>/sha256/<2 hex>/<hash>` (a file or a directory). */
export class ArtifactStore {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }
  pathOf(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new RunnerError('artifact.hash', `invalid artifact hash "${hash}"`);
    return join(this.root, 'sha256', hash.slice(0, 2), hash);
  }
  has(hash: string): boolean {
    return existsSync(this.pathOf(hash));
  }
  private stampFile(hash: string): string {
    return `${this.pathOf(hash)}.stamp`;
  }
  /** Records the object's stamp (after it is frozen). */
  private seal(hash: string): void {
    const path = this.pathOf(hash);
    freeze(path);
    writeFileSync(this.stampFile(hash), objectStamp(path));
  }
  /**
   * Is the object intact? Cheap when its stamp is unchanged since ingest; otherwise it is hashed
   * again (a copied store changes every ctime) and re-sealed when its content is right.
   */
  async check(hash: string): Promise<ObjectState> {
    const path = this.pathOf(hash);
    if (!existsSync(path)) return 'missing';
    let recorded: string | undefined;
    try { recorded = readFileSync(this.stampFile(hash), 'utf8'); } catch { /* older store: no stamp */ }
    try {
      if (recorded !== undefined && recorded === objectStamp(path)) return 'ok';
      const got = await contentHash(path);
      if (got.hash !== hash) return 'corrupt';
      this.seal(hash);
      return 'ok';
    } catch {
      return 'corrupt';
    }
  }
  /** Full check: hashes the object again whatever its stamp says. */
  async verify(hash: string): Promise<ObjectState> {
    const path = this.pathOf(hash);
    if (!existsSync(path)) return 'missing';
    try {
      return (await contentHash(path)).hash === hash ? 'ok' : 'corrupt';
    } catch {
      return 'corrupt';
    }
  }
  /** Removes an object (corrupt, or unreferenced). */
  remove(hash: string): void {
    const path = this.pathOf(hash);
    rmSync(path, { recursive: true, force: true });
    rmSync(this.stampFile(hash), { force: true });
  }
  /** Every object in the store, by hash. */
  list(): string[] {
    const out: string[] = [];
    const base = join(this.root, 'sha256');
    if (!existsSync(base)) return out;
    for (const d of readdirSync(base)) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue;
      for (const f of readdirSync(join(base, d))) if (/^[0-9a-f]{64}$/.test(f)) out.push(f);
    }
    return out.sort();
  }
  /**
   * Moves a freshly written file or directory into the store under its content hash. If the store
   * already holds that content the source is removed. The move is a rename, atomic on one filesystem.
   */
  async ingest(source: string): Promise<{ hash: string; size: number; path: string }> {
    const { hash, size } = await contentHash(source);
    const dest = this.pathOf(hash);
    // An object already stored is reused only when it is intact; a damaged one is replaced by these bytes.
    if (existsSync(dest) && (await this.check(hash)) === 'corrupt') this.remove(hash);
    if (existsSync(dest)) {
      rmSync(source, { recursive: true, force: true });
    } else {
      mkdirSync(join(this.root, 'sha256', hash.slice(0, 2)), { recursive: true });
      try {
        renameSync(source, dest);
        this.seal(hash);
      } catch (e) {
        if (!existsSync(dest)) throw e;
        rmSync(source, { recursive: true, force: true });
      }
    }
    return { hash, size, path: dest };
  }
}
