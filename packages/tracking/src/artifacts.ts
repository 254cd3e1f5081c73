/**
 * Copying output artifacts to an MLflow run's artifact store, through the server's artifact proxy
 * (`PUT /api/2.0/mlflow-artifacts/artifacts/<path>`). The same code runs after a local run (bytes
 * from the content store) and in a pod (bytes from the step's outputs directory).
 *
 * Layout, as Sluice lays out a step's outputs: a file artifact `model` is the MLflow artifact
 * `model`; a directory artifact `model` is `model/<its files>`. The run carries the content hash
 * as `sluice.artifact.<output>.hash`, and `sluice.artifact.<output>.copied` = that hash once every
 * file is there. Idempotent: an output whose `copied` tag has its hash is not sent again, and
 * after an interrupted copy only the files missing (or torn: another size) are sent; a file sent
 * again replaces itself at the same path, so nothing is ever stored twice.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { copiesArtifact, type TrackingArtifactsIR } from '@sluice/sdk';
import type { MlflowClient } from './mlflow.ts';

/** One output artifact of a task, where its bytes are on this machine. */
export interface ArtifactToCopy {
  readonly output: string;
  /** Artifact type (`Model`, `Dataset`, ...), for the `models` setting. */
  readonly type: string;
  /** `sha256:<hex>`: the Sluice content hash. */
  readonly hash: string;
  /** A file or a directory. */
  readonly path: string;
}

export interface CopyReport {
  readonly files: number;
  readonly bytes: number;
  /** Outputs already copied before (their `copied` tag has their hash). */
  readonly skipped: number;
}

export const hashTag = (output: string) => `sluice.artifact.${output}.hash`;
export const copiedTag = (output: string) => `sluice.artifact.${output}.copied`;

async function fileHash(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Files of an artifact, relative paths with '/' (a file artifact: itself, as ''). Sorted. */
async function filesOf(path: string): Promise<{ rel: string; abs: string; size: number }[]> {
  const st = await lstat(path);
  if (st.isFile()) return [{ rel: '', abs: path, size: st.size }];
  const out: { rel: string; abs: string; size: number }[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push({ rel: relative(path, full).split(sep).join('/'), abs: full, size: (await lstat(full)).size });
    }
  };
  await walk(path);
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/**
 * The Sluice content hash of a file (sha256 of its bytes) or a directory (sha256 of its sorted
 * `d <path>` / `f <path> <sha256>` lines), as the run store computes it (a test pins the two
 * agree): a pod has no content store, so it hashes what it copies itself.
 */
export async function artifactHash(path: string): Promise<string> {
  const st = await lstat(path);
  if (st.isFile()) return `sha256:${await fileHash(path)}`;
  const lines: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      const rel = relative(path, full).split(sep).join('/');
      if (e.isDirectory()) {
        lines.push(`d ${rel}`);
        await walk(full);
      } else if (e.isFile()) lines.push(`f ${rel} ${await fileHash(full)}`);
    }
  };
  await walk(path);
  lines.sort();
  return `sha256:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
}

/** Sizes of what is stored under `dir` (recursively), by path relative to `dir`. */
async function storedSizes(client: MlflowClient, dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const walk = async (d: string, prefix: string): Promise<void> => {
    for (const f of await client.listArtifacts(d)) {
      const name = f.path.split('/').pop() as string;
      if (f.is_dir) await walk(`${d}/${name}`, `${prefix}${name}/`);
      else out.set(`${prefix}${name}`, Number(f.file_size ?? -1));
    }
  };
  await walk(dir, '');
  return out;
}

/**
 * Copies the artifacts the setting asks for to an MLflow run. `tags`: the run's current tags
 * (read from the server when not given).
 *
 * @example
 * await copyArtifacts(client, mlflowRunId, [{ output: 'model', type: 'Model', hash, path }], 'models');
 */
export async function copyArtifacts(client: MlflowClient, mlflowRunId: string, artifacts: readonly ArtifactToCopy[], mode: TrackingArtifactsIR): Promise<CopyReport> {
  const wanted = artifacts.filter((a) => copiesArtifact(mode, a.type));
  if (!wanted.length) return { files: 0, bytes: 0, skipped: 0 };
  const run = await client.getRun(mlflowRunId);
  const tags = new Map((run.data.tags ?? []).map((t) => [t.key, t.value]));
  let files = 0;
  let bytes = 0;
  let skipped = 0;
  let root: string | undefined;
  for (const a of [...wanted].sort((x, y) => (x.output < y.output ? -1 : 1))) {
    if (tags.get(copiedTag(a.output)) === a.hash) {
      skipped++;
      continue;
    }
    root ??= await client.runArtifactRoot(mlflowRunId);
    const local = await filesOf(a.path);
    const single = local.length === 1 && local[0]?.rel === '';
    // what an interrupted copy left: complete files are kept, torn ones are sent again
    const have = single ? new Map([...(await storedSizes(client, root))].filter(([k]) => k === a.output)) : new Map([...(await storedSizes(client, `${root}/${a.output}`))].map(([k, v]) => [`${a.output}/${k}`, v]));
    for (const f of local) {
      const rel = single ? a.output : `${a.output}/${f.rel}`;
      if (have.get(rel) === f.size) continue;
      await client.uploadArtifact(`${root}/${rel}`, f.abs);
      files++;
      bytes += f.size;
    }
    await client.logBatch(mlflowRunId, { tags: [{ key: hashTag(a.output), value: a.hash }, { key: copiedTag(a.output), value: a.hash }] });
  }
  return { files, bytes, skipped };
}
