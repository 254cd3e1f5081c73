/**
 * The content hash of an artifact: what the local store keys it by and what a pod records for
 * each output artifact, so a cluster run is traceable to the same hashes as a local one.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ExecutorError } from './errors.ts';

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Content hash of a file (sha256 of its bytes) or a directory (sha256 of its sorted listing:
 * `d <path>` and `f <path> <sha256>` lines), with its size in bytes. Symbolic links are refused
 * (`ExecutorError` code `artifact.kind`).
 *
 * @example
 * const { hash, size } = await contentHash('/tmp/sluice/outputs/artifacts/model');
 */
export async function contentHash(path: string): Promise<{ hash: string; size: number }> {
  const st = await lstat(path);
  if (st.isFile()) return { hash: await hashFile(path), size: st.size };
  if (!st.isDirectory()) throw new ExecutorError('artifact.kind', `${path} is neither a file nor a directory`);
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
      } else throw new ExecutorError('artifact.kind', `${full}: only files and directories can be artifacts`);
    }
  };
  await walk(path);
  lines.sort();
  return { hash: createHash('sha256').update(lines.join('\n')).digest('hex'), size };
}
