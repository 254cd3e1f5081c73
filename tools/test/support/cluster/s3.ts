// A real S3 server for the test cluster's artifact repository: moto's server (moto[server] from
// PyPI, pinned in tools/s3/requirements.txt, installed by tools/setup.sh into
// ~/.cache/sluice/moto-<version>, outside the clone), on a free 127.0.0.1 port, under the
// same watchdog as the API server. Data lives in the server's memory: stopping it deletes it.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as Minio from 'minio';
import { freePort, startProcess, stopProcess, waitFor } from '../kube/cluster.ts';
import { repoRoot } from '../paths.ts';

/** The pinned moto version: the one line of tools/s3/requirements.txt that setup.sh installs. */
export const motoVersion = /^moto\[server\]==(\S+)$/m.exec(readFileSync(path.join(repoRoot, 'tools/s3/requirements.txt'), 'utf8'))![1]!;
/** The venv, as tools/setup.sh places it (keep the two in step). */
export const motoDir =
  process.env.SLUICE_MOTO_VENV ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'sluice', `moto-${motoVersion}`);
export const motoServer = path.join(motoDir, 'bin/moto_server');

/** How to reach the artifact repository: what tests and the host executor get. */
export interface S3Connection {
  /** host:port, as Argo's `s3.endpoint` wants it (no scheme). */
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

export function missingMoto(): string | undefined {
  return existsSync(motoServer)
    ? undefined
    : `${motoServer} is missing: run \`bash tools/setup.sh s3\` to install moto[server] ${motoVersion}`;
}

export function s3Client(c: S3Connection): Minio.Client {
  const [host, port] = c.endpoint.split(':');
  return new Minio.Client({
    endPoint: host!,
    port: Number(port),
    useSSL: false,
    accessKey: c.accessKey,
    secretKey: c.secretKey,
    region: c.region,
    pathStyle: true,
  });
}

export async function getObject(client: Minio.Client, bucket: string, key: string): Promise<Buffer> {
  const stream = await client.getObject(bucket, key);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function listKeys(client: Minio.Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of client.listObjectsV2(bucket, prefix, true)) {
    if ((o as { name?: string }).name) keys.push((o as { name: string }).name);
  }
  return keys.sort();
}

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export interface S3Server {
  readonly conn: S3Connection;
  readonly client: Minio.Client;
  stop(): Promise<void>;
}

/** Starts moto's S3 server in `tmp` (its log goes there) and creates the artifact bucket. */
export async function startS3(tmp: string, log: (line: string) => void = () => {}): Promise<S3Server> {
  const port = await freePort();
  const t0 = Date.now();
  const proc = startProcess('moto', tmp, motoServer, ['-H', '127.0.0.1', '-p', String(port)], {
    // moto answers for the region it is asked about; keep its own state in memory only.
    MOTO_ALLOW_NONEXISTENT_REGION: 'true',
  });
  try {
    await waitFor('moto S3 server', proc, 60_000, async () => (await fetch(`http://127.0.0.1:${port}/`)).status < 500);
    const conn: S3Connection = {
      endpoint: `127.0.0.1:${port}`,
      bucket: 'sluice-artifacts',
      accessKey: `sluice-${randomBytes(6).toString('hex')}`,
      secretKey: randomBytes(18).toString('hex'),
      region: 'us-east-1',
    };
    const client = s3Client(conn);
    await client.makeBucket(conn.bucket, conn.region);
    log(`moto S3 server ready on ${conn.endpoint} in ${(Date.now() - t0) / 1000}s`);
    return { conn, client, stop: () => stopProcess(proc) };
  } catch (err) {
    await stopProcess(proc);
    throw err;
  }
}
