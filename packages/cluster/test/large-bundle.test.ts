// Issue 10 item 5: a bundle too large for a ConfigMap goes to the artifact repository (a real S3
// server here: s3rver on 127.0.0.1), found as Argo finds it (the controller's ConfigMap, keys in a
// Secret), under its content hash; the function steps get it as a key-only input artifact.
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Kube } from '../src/kube.ts';
import { BUNDLE_ARTIFACT, BUNDLE_DIR, prepareSubmission, submitObjects, type Submission } from '../src/submit.ts';

type Obj = Record<string, any>;
const repo = path.resolve(import.meta.dirname, '../../..');
const fixture = path.join(repo, 'packages/bundle/test/fixture/pipeline.ts');
const scratch = mkdtempSync(path.join(tmpdir(), 'sluice-bigbundle-'));
let server: S3rver;
let port = 0;

beforeAll(async () => {
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: path.join(scratch, 's3'), configureBuckets: [{ name: 'artifacts', configs: [] }] });
  port = ((await server.run()) as { port: number }).port;
});
afterAll(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** An API server that accepts everything and holds the controller's ConfigMap and the S3 Secret. */
function fakeKube(o: { repository: boolean }): Kube & { created: Obj[] } {
  const created: Obj[] = [];
  const objects: Record<string, Obj> = {
    '/api/v1/namespaces/ns/secrets/s3-creds': { data: { accessKey: Buffer.from('S3RVER').toString('base64'), secretKey: Buffer.from('S3RVER').toString('base64') } },
  };
  if (o.repository) objects['/api/v1/namespaces/ns/configmaps/workflow-controller-configmap'] = { data: { artifactRepository: `s3:\n  bucket: artifacts\n  endpoint: 127.0.0.1:${port}\n  insecure: true\n  accessKeySecret: {name: s3-creds, key: accessKey}\n  secretKeySecret: {name: s3-creds, key: secretKey}\n` } };
  return {
    created, contextName: 'ctx', namespace: 'ns',
    path: (v: string, plural: string, name?: string) => `${v === 'v1' ? '/api/v1' : `/apis/${v}`}/namespaces/ns/${plural}${name ? `/${name}` : ''}`,
    get: async (p: string) => objects[p],
    create: async (_coll: string, obj: Obj, opts: { dryRun?: boolean } = {}) => {
      if (!opts.dryRun) created.push(obj);
      return { status: 201, headers: {}, body: { ...obj, metadata: { ...obj.metadata, name: obj.metadata.name ?? `${obj.metadata.generateName}abcde` } } };
    },
  } as unknown as Kube & { created: Obj[] };
}

const functionTemplates = (s: Submission) => s.templates.flatMap((t) => ((t.spec as Obj).templates as Obj[])).filter((t) => t.container?.command?.join(' ') === `node ${BUNDLE_DIR}/run.mjs exec`);

describe('a bundle over the ConfigMap limit ships through the artifact repository', () => {
  test('uploaded under its hash, given to every function step as a key-only artifact, no ConfigMap', async () => {
    const small = await prepareSubmission(fixture, { namespace: 'ns', exportName: 'checkpointed' });
    expect(small.configMap).toBeDefined();
    expect(small.bundleUpload).toBeUndefined();

    const sub = await prepareSubmission(fixture, { namespace: 'ns', exportName: 'checkpointed', configMapLimit: 1000 });
    expect(sub.configMap).toBeUndefined();
    const prefix = `sluice/bundles/${sub.bundle!.hash}`;
    expect(sub.bundleUpload?.prefix).toBe(prefix);
    const steps = functionTemplates(sub);
    expect(steps.length).toBeGreaterThan(0);
    for (const t of steps) {
      expect(t.inputs.artifacts).toContainEqual({ name: BUNDLE_ARTIFACT, path: BUNDLE_DIR, s3: { key: prefix } });
      expect(t.volumes ?? []).not.toContainEqual(expect.objectContaining({ name: 'sluice-bundle' }));
    }
    // no credentials in any object
    const text = JSON.stringify([sub.templates, sub.workflow]);
    expect(text).not.toContain('S3RVER');

    const kube = fakeKube({ repository: true });
    const r = await submitObjects(kube, sub);
    expect(r.bundle).toBe(`s3://artifacts/${prefix}/`);
    expect(kube.created.map((x) => x.kind)).toEqual([...sub.templates.map(() => 'WorkflowTemplate'), 'Workflow']);

    const { Client } = await import('minio');
    const s3 = new Client({ endPoint: '127.0.0.1', port, useSSL: false, accessKey: 'S3RVER', secretKey: 'S3RVER', pathStyle: true });
    const read = async (key: string) => Buffer.concat(await (await s3.getObject('artifacts', key)).toArray() as Buffer[]);
    const code = gunzipSync(await read(`${prefix}/bundle.mjs.gz`));
    expect(createHash('sha256').update(code).digest('hex')).toBe(sub.bundle!.hash);
    expect((await read(`${prefix}/run.mjs`)).toString('utf8')).toContain(sub.bundle!.hash);
  }, 120_000);

  test('without an artifact repository it is refused before anything is created (exit 2 message)', async () => {
    const sub = await prepareSubmission(fixture, { namespace: 'ns', exportName: 'checkpointed', configMapLimit: 1000 });
    const kube = fakeKube({ repository: false });
    await expect(submitObjects(kube, sub)).rejects.toMatchObject({ name: 'SubmitError', message: 'no artifact repository is configured for namespace ns (ConfigMap artifact-repositories or workflow-controller-configmap with artifactRepository)\nnothing was submitted.' });
    expect(kube.created).toEqual([]);
  }, 120_000);
});
