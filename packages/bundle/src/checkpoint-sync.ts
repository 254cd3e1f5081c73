/**
 * Checkpoints of a step in a pod, kept in the artifact repository (S3) under the run and the
 * task, so that a retried or resubmitted pod resumes from the last one: before the step, the
 * checkpoints stored at `<prefix>/<run>/<task>/` are downloaded into the step's checkpoint
 * directory; while it runs, new or changed checkpoint files are uploaded every few seconds;
 * when it ends (also after SIGTERM, once the step has saved), a last upload.
 *
 * Configured by the pod's environment (the compiled workflow sets it; credentials come from a
 * Secret reference, never inline): `SLUICE_CHECKPOINT_S3` = JSON `{ endpoint, bucket, prefix?,
 * useSSL?, region? }`, keys in `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface CheckpointStore {
  readonly endpoint: string;
  readonly bucket: string;
  readonly prefix?: string;
  readonly useSSL?: boolean;
  readonly region?: string;
  readonly accessKey?: string;
  readonly secretKey?: string;
}

/** Parses `SLUICE_CHECKPOINT_S3` (and the AWS key variables); undefined when not configured. */
export function checkpointStoreFromEnv(env: NodeJS.ProcessEnv = process.env): CheckpointStore | undefined {
  const text = env.SLUICE_CHECKPOINT_S3;
  if (!text) return undefined;
  const c = JSON.parse(text) as CheckpointStore;
  if (!c.endpoint || !c.bucket) throw new Error('SLUICE_CHECKPOINT_S3 needs "endpoint" and "bucket"');
  return { ...c, ...(env.AWS_ACCESS_KEY_ID ? { accessKey: env.AWS_ACCESS_KEY_ID } : {}), ...(env.AWS_SECRET_ACCESS_KEY ? { secretKey: env.AWS_SECRET_ACCESS_KEY } : {}) };
}

/**
 * The task part of the checkpoint location, stable across retries and resubmissions: the Argo
 * node name without the workflow's name and retry attempt (`wf-x.sweep(2:…).train(1)` ->
 * `sweep[2]/train`); a plain task key is kept.
 */
export function checkpointTaskKey(task: string): string {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of task) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === '.' && depth === 0) { parts.push(cur); cur = ''; continue; }
    cur += ch;
  }
  parts.push(cur);
  const segs = parts.length > 1 ? parts.slice(1) : parts; // the first segment is the workflow
  return segs
    .map((s) => s.replace(/\((\d+)\)$/, '').replace(/^(.*)\((\d+):.*\)$/s, '$1[$2]'))
    .join('/');
}

type MinioClient = import('minio').Client;

export class CheckpointSync {
  private readonly uploaded = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  private constructor(private readonly client: MinioClient, private readonly bucket: string, private readonly keyPrefix: string, readonly dir: string) {}

  static async open(store: CheckpointStore, runId: string, task: string, dir: string): Promise<CheckpointSync> {
    const { Client } = await import('minio');
    const url = new URL(store.endpoint.includes('://') ? store.endpoint : `${store.useSSL === false ? 'http' : 'https'}://${store.endpoint}`);
    const client = new Client({
      endPoint: url.hostname,
      port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
      useSSL: url.protocol === 'https:',
      ...(store.accessKey ? { accessKey: store.accessKey } : {}),
      ...(store.secretKey ? { secretKey: store.secretKey } : {}),
      ...(store.region ? { region: store.region } : {}),
      pathStyle: true,
    });
    const prefix = [store.prefix?.replace(/\/+$/, ''), 'checkpoints', runId, checkpointTaskKey(task)].filter(Boolean).join('/');
    mkdirSync(dir, { recursive: true });
    return new CheckpointSync(client, store.bucket, `${prefix}/`, dir);
  }

  /** Where the checkpoints live in the bucket. */
  get prefix(): string {
    return this.keyPrefix;
  }

  /** Downloads what the task saved in earlier attempts or runs. Returns the file names. */
  async restore(): Promise<string[]> {
    const names: string[] = [];
    const stream = this.client.listObjectsV2(this.bucket, this.keyPrefix, true);
    for await (const o of stream as AsyncIterable<{ name?: string }>) {
      if (!o.name) continue;
      const rel = o.name.slice(this.keyPrefix.length);
      if (!rel || rel.includes('..')) continue;
      const dest = path.join(this.dir, rel);
      mkdirSync(path.dirname(dest), { recursive: true });
      await this.client.fGetObject(this.bucket, o.name, dest);
      this.uploaded.set(rel, digest(dest));
      names.push(rel);
    }
    return names.sort();
  }

  /** Uploads new or changed files (checkpoint files are written whole and renamed into place). */
  sync(): Promise<void> {
    this.busy = this.busy.then(async () => {
      for (const rel of walk(this.dir)) {
        if (rel.includes('.tmp') || rel.startsWith('.')) continue;
        const file = path.join(this.dir, rel);
        const d = digest(file);
        if (this.uploaded.get(rel) === d) continue;
        await this.client.fPutObject(this.bucket, this.keyPrefix + rel.split(path.sep).join('/'), file);
        this.uploaded.set(rel, d);
      }
    });
    return this.busy;
  }

  /** Uploads every `ms` while the step runs. */
  start(ms = 3000): void {
    this.timer = setInterval(() => { void this.sync().catch(() => {}); }, ms);
    this.timer.unref();
  }

  /** The last upload. */
  async finish(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sync();
  }
}

function digest(file: string): string {
  const st = statSync(file);
  return `${st.size}:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
}

function walk(dir: string, base = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, base), { withFileTypes: true })) {
    const rel = path.join(base, e.name);
    if (e.isDirectory()) out.push(...walk(dir, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}
