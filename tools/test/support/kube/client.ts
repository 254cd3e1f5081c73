import { request as httpsRequest } from 'node:https';

/** How to reach a test API server: what the global setup hands to test files. */
export interface KubeConnection {
  /** e.g. https://127.0.0.1:41234 */
  server: string;
  /** Bearer token of a throwaway system:masters user. */
  token: string;
  /** PEM of the CA that signed the server's (self-signed, throwaway) serving certificate. */
  ca: string;
  /** A namespace created for this test run. */
  namespace: string;
  /** A kubeconfig file for the same user, for tools that want one (e.g. Argo's controller). */
  kubeconfig: string;
  /** e.g. { kubernetes: 'v1.37.2', etcd: 'v3.7.0' } */
  versions: Record<string, string>;
}

export interface KubeResponse {
  status: number;
  body: unknown;
  /** `Warning` headers the server sent (deprecations, dropped fields). */
  warnings: string[];
}

/** A Kubernetes `Status` object, as the server returns for errors. */
export interface KubeStatus {
  kind: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: { reason?: string; message?: string; field?: string }[] };
}

export interface ResourceInfo {
  /** URL path of the collection without a namespace, e.g. /apis/argoproj.io/v1alpha1/workflows */
  path: (namespace?: string) => string;
  namespaced: boolean;
}

export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    const msg = isStatus(body) ? body.message : JSON.stringify(body);
    super(`${what}: HTTP ${status}: ${msg ?? ''}`);
  }
}

export function isStatus(x: unknown): x is KubeStatus {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'Status';
}

/**
 * A minimal Kubernetes REST client over node:https: plain HTTP calls, nothing else.
 *
 * @example
 *   const kube = new KubeClient(inject('kube'));
 *   const res = await kube.dryRunCreate(workflowObject);
 */
export class KubeClient {
  private readonly discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();

  constructor(readonly conn: KubeConnection) {}

  request(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<KubeResponse> {
    const url = new URL(path, this.conn.server);
    const payload =
      body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          ca: this.conn.ca,
          headers: {
            authorization: `Bearer ${this.conn.token}`,
            accept: 'application/json',
            ...(payload === undefined
              ? {}
              : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
          },
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              // not JSON (e.g. /readyz): keep the text
            }
            const w = res.headers.warning;
            const warnings = (w === undefined ? [] : Array.isArray(w) ? w : [w]).map((s) =>
              s.replace(/^299 - "(.*)"$/, '$1'),
            );
            resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Like request, but throws a KubeError on any non-2xx answer. */
  async ok(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> {
    const res = await this.request(method, path, body, contentType);
    if (res.status < 200 || res.status > 299) throw new KubeError(res.status, res.body, `${method} ${path}`);
    return res.body;
  }

  /** Where objects of apiVersion/kind live, from the server's discovery documents. */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let cached = this.discovery.get(base);
    if (!cached) {
      cached = this.ok('GET', base).then((doc) => {
        const byKind = new Map<string, ResourceInfo>();
        const list = (doc as { resources?: { name: string; kind: string; namespaced: boolean }[] })
          .resources ?? [];
        for (const r of list) {
          if (r.name.includes('/')) continue; // subresources
          byKind.set(r.kind, {
            namespaced: r.namespaced,
            path: (ns) =>
              r.namespaced ? `${base}/namespaces/${ns ?? this.conn.namespace}/${r.name}` : `${base}/${r.name}`,
          });
        }
        return byKind;
      });
      cached.catch(() => this.discovery.delete(base));
      this.discovery.set(base, cached);
    }
    const info = (await cached).get(kind);
    if (!info) throw new Error(`the API server serves no kind ${kind} in ${apiVersion}`);
    return info;
  }

  /** Creates a namespace unless it exists. */
  async ensureNamespace(name: string): Promise<void> {
    const res = await this.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    });
    if (res.status !== 201 && res.status !== 409) throw new KubeError(res.status, res.body, `create namespace ${name}`);
  }

  /** Forget discovery (after installing CRDs). */
  resetDiscovery(): void {
    this.discovery.clear();
  }

  /**
   * Submits an object as `kubectl create --dry-run=server --validate=strict` does: the server
   * decodes it strictly, applies defaults, runs OpenAPI schema, CEL rules and admission, and
   * stores nothing.
   */
  async dryRunCreate(obj: Record<string, unknown>, namespace?: string): Promise<KubeResponse> {
    const apiVersion = String(obj.apiVersion ?? '');
    const kind = String(obj.kind ?? '');
    const meta = (obj.metadata ?? {}) as { namespace?: string };
    const info = await this.resource(apiVersion, kind);
    const path = info.path(namespace ?? meta.namespace);
    return this.request('POST', `${path}?dryRun=All&fieldValidation=Strict&fieldManager=sluice-oracles`, obj);
  }

  /** Server-side apply (creates or updates), e.g. for CRDs too large for client-side apply. */
  async apply(obj: Record<string, unknown>, namespace?: string): Promise<unknown> {
    const meta = (obj.metadata ?? {}) as { name?: string; namespace?: string };
    if (!meta.name) throw new Error('server-side apply needs metadata.name');
    const info = await this.resource(String(obj.apiVersion), String(obj.kind));
    const path = `${info.path(namespace ?? meta.namespace)}/${encodeURIComponent(meta.name)}`;
    return this.ok(
      'PATCH',
      `${path}?fieldManager=sluice-oracles&force=true&fieldValidation=Strict`,
      obj,
      'application/apply-patch+yaml',
    );
  }
}
