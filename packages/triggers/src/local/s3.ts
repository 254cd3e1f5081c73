/**
 * Data arrival from an S3 prefix, for the local daemon: list the prefix page by page (ListObjectsV2
 * with continuation tokens) and compare the listing with what the trigger has seen (key -> ETag).
 * A key not seen before, or seen with another ETag (an overwrite), is an arrival; a key seen but no
 * longer listed was deleted (it leaves the cursor, and fires nothing). Credentials come from the
 * environment variables the trigger names; their values are never stored, logged or put in an error.
 */
import type { Client } from 'minio';
import type { S3LocationIR } from '../ir.ts';
import { TriggerError } from './store.ts';

export interface S3Object { readonly key: string; readonly size: number; readonly etag: string; readonly lastModified: string }

/** ETags as S3 lists them are quoted (`"abc"`), as MinIO's notifications send them bare: one form for both. */
export function normaliseEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"+|"+$/g, '');
}

/** An S3 client for the location, with the keys read from the named environment variables. */
export async function s3Client(l: S3LocationIR, env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const accessKey = env[l.credentials.accessKeyEnv];
  const secretKey = env[l.credentials.secretKeyEnv];
  const missing = [accessKey ? undefined : l.credentials.accessKeyEnv, secretKey ? undefined : l.credentials.secretKeyEnv].filter(Boolean);
  if (missing.length) throw new TriggerError('s3.credentials', `set ${missing.join(' and ')} in the environment (the S3 keys are read from there)`);
  const url = new URL(l.endpoint ?? 'https://s3.amazonaws.com');
  const { Client } = await import('minio');
  return new Client({
    endPoint: url.hostname, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80), useSSL: url.protocol === 'https:',
    accessKey: accessKey!, secretKey: secretKey!, pathStyle: true, ...(l.region ? { region: l.region } : {}),
  });
}

/** Every object under the prefix, in key order, `pageSize` keys per request. */
export async function listPrefix(client: Client, bucket: string, prefix: string, pageSize = 1000): Promise<S3Object[]> {
  const out: S3Object[] = [];
  let token = '';
  for (;;) {
    const page = await client.listObjectsV2Query(bucket, prefix, token, '', pageSize, '');
    for (const o of page.objects) {
      if (o.name === undefined) continue;
      out.push({ key: o.name, size: o.size, etag: normaliseEtag(o.etag), lastModified: o.lastModified.toISOString() });
    }
    if (!page.isTruncated || !page.nextContinuationToken) break;
    token = page.nextContinuationToken;
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** What changed since the cursor: new or overwritten objects, and keys that are gone. */
export function diffListing<T extends { readonly key: string; readonly etag: string }>(seen: ReadonlyMap<string, string>, listing: readonly T[]): { arrived: T[]; deleted: string[] } {
  const listed = new Set(listing.map((o) => o.key));
  return { arrived: listing.filter((o) => seen.get(o.key) !== o.etag), deleted: [...seen.keys()].filter((k) => !listed.has(k)).sort() };
}

/** A safe description of an S3 error: its code and message, never the request's headers or keys. */
export function s3ErrorText(e: unknown): string {
  if (e instanceof TriggerError) return e.message;
  const x = e as { code?: unknown; message?: unknown };
  return [typeof x.code === 'string' ? x.code : undefined, typeof x.message === 'string' ? x.message : String(e)].filter(Boolean).join(': ');
}
