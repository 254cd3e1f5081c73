import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { RunnerError } from '../errors.ts';

export { checkArtifactName } from '@sluice/executor';

/** Joins `parts` under `root` and throws if the result would lie outside it. */
export function resolveInside(root: string, ...parts: string[]): string {
  const r = resolve(root);
  const p = resolve(r, ...parts);
  if (p !== r && !p.startsWith(r + sep)) throw new RunnerError('artifact.escape', `path ${parts.join('/')} escapes the artifact root ${r}`);
  return p;
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Content hash of a file (sha256 of its bytes) or a directory (sha256 of its sorted listing:
 * `d <path>` and `f <path> <sha256>` lines). Symbolic links are refused.
 */
export async function contentHash(path: string): Promise<{ hash: string; size: number }> {
  const st = await lstat(path);
  if (st.isFile()) return { hash: await hashFile(path), size: st.size };
  if (!st.isDirectory()) throw new RunnerError('artifact.kind', `${path} is neither a file nor a directory`);
  const lines: string[] = [];
  let size = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const full = join(dir, e.name);
      const rel = relative(path, full).split(sep).join('/');
      if (e.isDirectory()) {
        lines.push(`d ${rel}`);
        await walk(full);
      } else if (e.isFile()) {
        lines.push(`f ${rel} ${await hashFile(full)}`);
        size += statSync(full).size;
      } else throw new RunnerError('artifact.kind', `${full}: only files and directories can be artifacts`);
    }
  };
  await walk(path);
  lines.sort();
  return { hash: createHash('sha256').update(lines.join('\n')).digest('hex'), size };
}

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
  /**
   * Moves a freshly written file or directory into the store under its content hash. If the store
   * already holds that content the source is removed. The move is a rename, atomic on one filesystem.
   */
  async ingest(source: string): Promise<{ hash: string; size: number; path: string }> {
    const { hash, size } = await contentHash(source);
    const dest = this.pathOf(hash);
    if (existsSync(dest)) {
      rmSync(source, { recursive: true, force: true });
    } else {
      mkdirSync(join(this.root, 'sha256', hash.slice(0, 2)), { recursive: true });
      try {
        renameSync(source, dest);
      } catch (e) {
        if (!existsSync(dest)) throw e;
        rmSync(source, { recursive: true, force: true });
      }
    }
    return { hash, size, path: dest };
  }
}
