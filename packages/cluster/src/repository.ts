/**
 * The workflow's artifact repository as Argo resolves it for a key-only artifact, so that `submit`
 * can put a bundle too large for a ConfigMap there (internal). Looked up as Argo does, in the
 * workflow's namespace: the ConfigMap `artifact-repositories` (the entry its
 * `workflows.argoproj.io/default-artifact-repository` annotation names, else `default-v1`), else
 * the controller's ConfigMap `workflow-controller-configmap` (`artifactRepository`). Only S3 is
 * supported. The keys are read from the Secrets the repository names, used for the upload only and
 * never printed or written into a manifest (the pods get the bundle through Argo, which reads the
 * same Secrets).
 */
import { Readable } from 'node:stream';
import type { Kube } from './kube.ts';

type Obj = Record<string, unknown>;

/** An S3 artifact repository (Argo's `S3ArtifactRepository`), as far as an upload needs it. */
export interface S3Repository {
  readonly bucket: string;
  /** `host:port` */
  readonly endpoint: string;
  readonly insecure: boolean;
  readonly region?: string;
  readonly accessKeySecret?: { readonly name: string; readonly key: string };
  readonly secretKeySecret?: { readonly name: string; readonly key: string };
  /** Where it was found, for messages. */
  readonly source: string;
}

export const ARTIFACT_REPOSITORIES = 'artifact-repositories';
export const DEFAULT_REPOSITORY_ANNOTATION = 'workflows.argoproj.io/default-artifact-repository';
export const CONTROLLER_CONFIGMAP = 'workflow-controller-configmap';

/** A repository that cannot be used for an upload (exit 2: the user's configuration). */
export class RepositoryError extends Error {
  override readonly name = 'SubmitError';
}

async function yaml(text: string): Promise<unknown> {
  const { loadYaml } = await import('@kubernetes/client-node');
  return loadYaml(text);
}

function s3Of(v: unknown, source: string): S3Repository {
  const s3 = (v as { s3?: Obj } | undefined)?.s3;
  if (!s3) throw new RepositoryError(`the artifact repository in ${source} is not S3 (only S3 repositories can take a bundle)`);
  if (typeof s3.bucket !== 'string' || typeof s3.endpoint !== 'string') throw new RepositoryError(`the S3 artifact repository in ${source} has no bucket or endpoint`);
  const ref = (x: unknown) => (x && typeof (x as Obj).name === 'string' && typeof (x as Obj).key === 'string' ? { name: String((x as Obj).name), key: String((x as Obj).key) } : undefined);
  const ak = ref(s3.accessKeySecret);
  const sk = ref(s3.secretKeySecret);
  return {
    bucket: s3.bucket, endpoint: s3.endpoint, insecure: s3.insecure === true, source,
    ...(typeof s3.region === 'string' ? { region: s3.region } : {}), ...(ak ? { accessKeySecret: ak } : {}), ...(sk ? { secretKeySecret: sk } : {}),
  };
}

/** The namespace's default artifact repository, as Argo finds it for a workflow without `artifactRepositoryRef`. */
export async function findRepository(kube: Kube): Promise<S3Repository> {
  const cms = kube.path('v1', 'configmaps');
  const repos = await kube.get(`${cms}/${ARTIFACT_REPOSITORIES}`);
  if (repos) {
    const data = (repos.data ?? {}) as Record<string, string>;
    const key = ((repos.metadata as Obj | undefined)?.annotations as Record<string, string> | undefined)?.[DEFAULT_REPOSITORY_ANNOTATION] ?? 'default-v1';
    const text = data[key];
    if (text !== undefined) return s3Of(await yaml(text), `ConfigMap ${kube.namespace}/${ARTIFACT_REPOSITORIES} (key ${key})`);
  }
  const controller = await kube.get(`${cms}/${CONTROLLER_CONFIGMAP}`);
  const text = ((controller?.data ?? {}) as Record<string, string>).artifactRepository;
  if (text !== undefined) return s3Of(await yaml(text), `ConfigMap ${kube.namespace}/${CONTROLLER_CONFIGMAP} (artifactRepository)`);
  throw new RepositoryError(`no artifact repository is configured for namespace ${kube.namespace} (ConfigMap ${ARTIFACT_REPOSITORIES} or ${CONTROLLER_CONFIGMAP} with artifactRepository)`);
}

async function secretValue(kube: Kube, ref: { name: string; key: string }): Promise<string> {
  const s = await kube.get(kube.path('v1', 'secrets', ref.name));
  const b64 = ((s?.data ?? {}) as Record<string, string>)[ref.key];
  if (b64 === undefined) throw new RepositoryError(`Secret ${kube.namespace}/${ref.name} has no key ${ref.key} (named by the artifact repository)`);
  return Buffer.from(b64, 'base64').toString('utf8');
}

/**
 * Puts `files` under `prefix/` in the repository unless they are there already with the same size
 * (the prefix is a content hash). Returns what was done. Errors never carry the keys.
 */
export async function uploadFiles(kube: Kube, repo: S3Repository, prefix: string, files: Readonly<Record<string, Buffer>>): Promise<'uploaded' | 'present'> {
  const accessKey = repo.accessKeySecret ? await secretValue(kube, repo.accessKeySecret) : undefined;
  const secretKey = repo.secretKeySecret ? await secretValue(kube, repo.secretKeySecret) : undefined;
  const hide = (t: string) => [accessKey, secretKey].reduce<string>((x, k) => (k ? x.split(k).join('<redacted>') : x), t);
  const { Client } = await import('minio');
  const [host, port] = repo.endpoint.split(':');
  const client = new Client({
    endPoint: host ?? repo.endpoint, ...(port ? { port: Number(port) } : {}), useSSL: !repo.insecure, pathStyle: true,
    ...(accessKey ? { accessKey } : {}), ...(secretKey ? { secretKey } : {}), ...(repo.region ? { region: repo.region } : {}),
  });
  try {
    let present = true;
    for (const [name, body] of Object.entries(files)) {
      const key = `${prefix}/${name}`;
      const have = await client.statObject(repo.bucket, key).then((s) => s.size, () => undefined);
      if (have === body.length) continue;
      present = false;
      await client.putObject(repo.bucket, key, Readable.from([body]), body.length);
    }
    return present ? 'present' : 'uploaded';
  } catch (e) {
    throw new Error(`uploading the bundle to s3://${repo.bucket}/${prefix}/ (${repo.source}): ${hide((e as Error).message)}`);
  }
}
