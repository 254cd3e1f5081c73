/**
 * How a command writes a manifest to the file `-o` names (`sluice compile`, `sluice triggers
 * compile`), as `kubectl`, `kfp dsl compile` and a shell's `>` treat that name:
 *
 * - a regular file, or one that does not exist yet, is replaced whole: the text goes to a temporary
 *   file beside it, then a rename puts it in place, so that a reader (a `kubectl apply` in a
 *   watch loop, an editor) never sees half a manifest; an existing file keeps its mode;
 * - through a symbolic link, the file it points at is written and the link stays;
 * - a device, a FIFO or a socket (`/dev/stdout`, a named pipe, `/dev/null`) is written to, never
 *   replaced by a regular file.
 *
 * A failed write leaves no temporary file and throws the file system's error.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** The path a write to `file` lands on: `file` itself, or the end of its chain of links (made if absent). */
function landing(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    // absent, or a link to an absent file: follow the links as far as they go
    let at = resolve(file);
    for (let hops = 0; hops < 40; hops++) {
      let link: string;
      try {
        if (!lstatSync(at).isSymbolicLink()) return at;
        link = readlinkSync(at);
      } catch {
        return at;
      }
      at = resolve(dirname(at), link);
    }
    return at;
  }
}

/**
 * Writes `text` to `file` (see the module's comment for what each kind of file gets).
 *
 * @throws the file system's error when it cannot be written (the folder missing or read-only, the disk full).
 * @example
 * writeOutputFile('train.yaml', compile(ir, { entry: 'train.ts' }).yaml);
 */
export function writeOutputFile(file: string, text: string): void {
  const target = landing(file);
  let st: Stats | undefined;
  try {
    st = statSync(target);
  } catch {
    /* a new file */
  }
  if (st && !st.isFile()) {
    // a device, FIFO or socket: written to, as `>` does
    writeFileSync(target, text);
    return;
  }
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.sluice-tmp`);
  try {
    // a new file gets what `>` gives it (0666 less the umask); an existing one keeps its mode
    writeFileSync(tmp, text, { flag: 'wx' });
    if (st) chmodSync(tmp, st.mode & 0o7777);
    renameSync(tmp, target);
  } finally {
    rmSync(tmp, { force: true });
  }
}
