import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Checkpoint, JsonValue } from '@sluice/sdk';
import { canonicalJson, sha256 } from '@sluice/sdk';
import { crashPoint } from './crash.ts';

interface Manifest {
  readonly seq: number;
  readonly kind: 'value' | 'file';
  readonly checksum: string;
  readonly value?: JsonValue;
  readonly savedAt: string;
}

const MANIFEST_RE = /^ckpt-(\d{8})\.json$/;

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* some filesystems refuse fsync on directories */ }
}

/** Writes `data` to `path` atomically: a temp file, fsync, rename, fsync of the directory. */
export function atomicWrite(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  crashPoint('checkpoint.before-rename');
  renameSync(tmp, path);
}

function isFileCheckpoint(v: unknown): v is { readonly file: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { file?: unknown }).file === 'string';
}

/**
 * Checkpoints of one task in one directory, shared by all its attempts (and by a resumed run):
 * `ckpt-<seq>.json` manifests with a sha256 checksum, plus `ckpt-<seq>.bin` for file checkpoints.
 * Each write is atomic; the last `keep` are kept; `load` returns the newest one whose checksum holds.
 */
export class FileCheckpoint implements Checkpoint {
  private readonly dir: string;
  private readonly keep: number;
  private seq: number | undefined;

  constructor(dir: string, keep = 3) {
    this.dir = dir;
    this.keep = Math.max(1, keep);
  }

  private manifests(): number[] {
    if (!existsSync(this.dir)) return [];
    const seqs: number[] = [];
    for (const f of readdirSync(this.dir)) {
      const m = MANIFEST_RE.exec(f);
      if (m) seqs.push(Number(m[1]));
    }
    return seqs.sort((a, b) => b - a);
  }

  async save(value: JsonValue | { readonly file: string }): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const seq = (this.seq ?? this.manifests()[0] ?? 0) + 1;
    this.seq = seq;
    const name = `ckpt-${String(seq).padStart(8, '0')}`;
    let manifest: Manifest;
    if (isFileCheckpoint(value)) {
      const bin = join(this.dir, `${name}.bin`);
      const tmp = `${bin}.tmp-${process.pid}`;
      copyFileSync(value.file, tmp);
      const fd = openSync(tmp, 'r+');
      try { fsyncSync(fd); } finally { closeSync(fd); }
      renameSync(tmp, bin);
      manifest = { seq, kind: 'file', checksum: sha256(readFileSync(bin)), savedAt: new Date().toISOString() };
    } else {
      manifest = { seq, kind: 'value', checksum: sha256(canonicalJson(value)), value: value as JsonValue, savedAt: new Date().toISOString() };
    }
    atomicWrite(join(this.dir, `${name}.json`), JSON.stringify(manifest));
    fsyncDir(this.dir);
    for (const old of this.manifests().slice(this.keep)) {
      const n = `ckpt-${String(old).padStart(8, '0')}`;
      rmSync(join(this.dir, `${n}.json`), { force: true });
      rmSync(join(this.dir, `${n}.bin`), { force: true });
    }
  }

  async load<V = JsonValue>(): Promise<V | undefined> {
    for (const seq of this.manifests()) {
      const name = `ckpt-${String(seq).padStart(8, '0')}`;
      try {
        const m = JSON.parse(readFileSync(join(this.dir, `${name}.json`), 'utf8')) as Manifest;
        if (m.kind === 'file') {
          const bin = join(this.dir, `${name}.bin`);
          if (sha256(readFileSync(bin)) === m.checksum) return { file: bin } as V;
        } else if (sha256(canonicalJson(m.value ?? null)) === m.checksum) {
          return m.value as V;
        }
      } catch {
        // a damaged checkpoint: fall back to the one before
      }
    }
    return undefined;
  }
}
