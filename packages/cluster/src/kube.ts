/**
 * Talking to the Kubernetes API server: kubeconfig the standard way (through
 * @kubernetes/client-node: `KUBECONFIG`, `~/.kube/config`, in-cluster service account, a chosen
 * context and namespace), TLS verified, credentials never printed, and requests that survive
 * what an API server does under load or restart (429 with Retry-After, 5xx, dropped
 * connections, watch expiry with 410 Gone).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where to find the cluster: the same choices kubectl offers. */
export interface ConnectOptions {
  /** A kubeconfig file; default: `KUBECONFIG` (colon-separated list), `~/.kube/config`, or in-cluster. */
  readonly kubeconfig?: string;
  /** A context of the kubeconfig; default: its current context. */
  readonly context?: string;
  /** Namespace; default: the context's, the service account's in a pod, else `default`. */
  readonly namespace?: string;
  /** Longest time one call keeps retrying (429, 5xx, connection errors), in ms. @default 60000 */
  readonly retryForMs?: number;
  /** Where debug lines go (already redacted). */
  readonly debug?: (line: string) => void;
}

/** A failed API call, as data: HTTP status, the server's reason and message (credentials redacted). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly causes: readonly { field?: string; message?: string; reason?: string }[] = [],
  ) {
    super(message);
  }
}

/** The configuration cannot be used (no cluster, unknown context, TLS verification turned off, ...). */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

const IN_CLUSTER_NS = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const NO_CLUSTER = 'no Kubernetes cluster configured: set KUBECONFIG, write ~/.kube/config, or run in a pod with a service account';

/**
 * Whether the client library's default load finds a configuration: `KUBECONFIG`, `~/.kube/config`
 * or a pod's service account. Without one it makes up a cluster at http://localhost:8080, which
 * would fail later with a message about TLS.
 */
function hasDefaultConfig(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.KUBECONFIG) return true;
  if (existsSync(join(homedir(), '.kube', 'config'))) return true;
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(IN_CLUSTER_TOKEN);
}

/** Replaces every secret (and anything shaped like a bearer token) in a text. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('<redacted>');
  return out
    .replace(/(bearer\s+)[^\s"',]+/gi, '$1<redacted>')
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '<redacted private key>');
}

export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers: IncomingMessage['headers'];
}

/** One event of a watch stream. */
export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

/** A connection to one API server, as one user, in one namespace. */
export class Kube {
  private constructor(
    /** e.g. https://10.0.0.1:6443 */
    readonly server: string,
    readonly namespace: string,
    /** Kubeconfig context and cluster names (what `sluice runs` shows). */
    readonly contextName: string,
    readonly clusterName: string,
    private readonly base: RequestOptions,
    private readonly secrets: readonly string[],
    private readonly retryForMs: number,
    private readonly debugLine: ((line: string) => void) | undefined,
  ) {}

  /** Loads the kubeconfig the standard way and checks it can be used safely. */
  static async connect(o: ConnectOptions = {}): Promise<Kube> {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    try {
      if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
      else if (hasDefaultConfig()) kc.loadFromDefault();
      else throw new KubeConfigError(NO_CLUSTER);
    } catch (e) {
      if (e instanceof KubeConfigError) throw e;
      throw new KubeConfigError(`cannot read the kubeconfig${o.kubeconfig ? ` ${o.kubeconfig}` : ''}: ${(e as Error).message}`);
    }
    if (o.context) {
      if (!kc.getContextObject(o.context)) throw new KubeConfigError(`no context "${o.context}" in the kubeconfig; it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}`);
      kc.setCurrentContext(o.context);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster?.server) throw new KubeConfigError(NO_CLUSTER);
    if (!/^https:\/\//i.test(cluster.server)) throw new KubeConfigError(`cluster "${cluster.name}" is at ${cluster.server}: Sluice talks to a Kubernetes API server over HTTPS only`);
    if (cluster.skipTLSVerify) throw new KubeConfigError(`cluster "${cluster.name}" has insecure-skip-tls-verify: Sluice verifies the server's certificate; give the cluster's certificate-authority instead`);
    const ctx = kc.getContextObject(kc.getCurrentContext());
    let namespace = o.namespace ?? ctx?.namespace;
    if (!namespace) {
      try {
        namespace = readFileSync(IN_CLUSTER_NS, 'utf8').trim() || undefined;
      } catch { /* not in a pod */ }
    }
    const base: RequestOptions = {};
    try {
      await kc.applyToHTTPSOptions(base);
    } catch (e) {
      throw new KubeConfigError(`cannot use the credentials of context "${kc.getCurrentContext()}" in the kubeconfig: ${(e as Error).message}`);
    }
    // never fall back to an unverified connection, whatever NODE_TLS_REJECT_UNAUTHORIZED says
    (base as { rejectUnauthorized?: boolean }).rejectUnauthorized = true;
    const user = kc.getCurrentUser();
    const secrets = [user?.token, user?.password, (base.headers as Record<string, string> | undefined)?.Authorization?.replace(/^Bearer\s+/i, '')].filter((s): s is string => typeof s === 'string' && s.length > 0);
    return new Kube(cluster.server.replace(/\/+$/, ''), namespace ?? 'default', kc.getCurrentContext(), cluster.name, base, secrets, o.retryForMs ?? 60_000, o.debug);
  }

  /** Text safe to print: no token, password or private key of this connection. */
  redact(text: string): string {
    return redact(text, this.secrets);
  }

  private debug(line: string): void {
    this.debugLine?.(this.redact(line));
  }

  /** Namespaced collection path, e.g. ns('argoproj.io/v1alpha1', 'workflows'). */
  path(apiVersion: string, plural: string, name?: string, sub?: string): string {
    const group = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return `${group}/namespaces/${encodeURIComponent(this.namespace)}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}${sub ? `/${sub}` : ''}`;
  }

  private open(method: string, path: string, body: string | undefined, contentType: string | undefined, timeoutMs: number): Promise<IncomingMessage> {
    const url = new URL(path, `${this.server}/`);
    const headers: Record<string, string | number> = { ...(this.base.headers as Record<string, string>), accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const opts: RequestOptions = { ...this.base, method, headers, timeout: timeoutMs };
    const req = (url.protocol === 'http:' ? httpRequest : httpsRequest)(url, opts);
    return new Promise((resolve, reject) => {
      req.on('response', resolve);
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${timeoutMs / 1000}s`)));
      req.on('error', (e) => reject(new Error(this.redact(`${method} ${url.pathname}: ${(e as Error).message}`), { cause: (e as NodeJS.ErrnoException).code })));
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  private static async read(res: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  private toError(method: string, path: string, status: number, body: unknown): KubeApiError {
    const s = (typeof body === 'object' && body !== null ? body : {}) as { message?: string; reason?: string; details?: { causes?: { field?: string; message?: string; reason?: string }[] } };
    const msg = s.message ?? (typeof body === 'string' ? body.slice(0, 500) : `HTTP ${status}`);
    return new KubeApiError(status, s.reason ?? String(status), this.redact(`${method} ${path.split('?')[0]}: ${msg}`), s.details?.causes ?? []);
  }

  /**
   * One API call. Retries, with backoff, what the server asks to retry (429 with its
   * Retry-After, 500/502/503/504) and connections that fail or drop, until `retryForMs`; a
   * create (POST) is retried only when the server surely did not act (429, connection refused).
   */
  async call(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const deadline = Date.now() + this.retryForMs;
    for (let attempt = 0; ; attempt++) {
      let wait = Math.min(5000, 200 * 2 ** attempt);
      try {
        const res = await this.open(method, path, payload, contentType, 60_000);
        const parsed = await Kube.read(res);
        const status = res.statusCode ?? 0;
        const retryable = status === 429 || (method !== 'POST' && [500, 502, 503, 504].includes(status));
        if (retryable && Date.now() + wait < deadline) {
          const after = Number(res.headers['retry-after']);
          if (Number.isFinite(after) && after > 0) wait = Math.min(after * 1000, 10_000);
          this.debug(`${method} ${path}: HTTP ${status}, retrying in ${wait} ms`);
          await sleep(wait);
          continue;
        }
        return { status, body: parsed, headers: res.headers };
      } catch (e) {
        const code = (e as Error).cause;
        const safe = method !== 'POST' || code === 'ECONNREFUSED';
        if (!safe || Date.now() + wait >= deadline) throw e;
        this.debug(`${(e as Error).message}; retrying in ${wait} ms`);
        await sleep(wait);
      }
    }
  }

  /** Like call, but any non-2xx answer is a KubeApiError. */
  async ok(method: string, path: string, body?: unknown, contentType?: string): Promise<Obj> {
    const res = await this.call(method, path, body, contentType);
    if (res.status < 200 || res.status > 299) throw this.toError(method, path, res.status, res.body);
    return res.body as Obj;
  }

  /** GET, or undefined on 404. */
  async get(path: string): Promise<Obj | undefined> {
    const res = await this.call('GET', path);
    if (res.status === 404) return undefined;
    if (res.status < 200 || res.status > 299) throw this.toError('GET', path, res.status, res.body);
    return res.body as Obj;
  }

  /**
   * Creates an object; with `dryRun`, as `kubectl create --dry-run=server --validate=strict`:
   * the server decodes strictly, defaults, validates (schema, CEL rules, admission) and stores
   * nothing.
   */
  async create(collection: string, obj: Obj, o: { dryRun?: boolean } = {}): Promise<KubeResponse> {
    const q = `fieldValidation=Strict&fieldManager=sluice${o.dryRun ? '&dryRun=All' : ''}`;
    return this.call('POST', `${collection}?${q}`, obj);
  }

  /** A KubeApiError for a response (for callers of create). */
  errorOf(method: string, path: string, res: KubeResponse): KubeApiError {
    return this.toError(method, path, res.status, res.body);
  }

  /** JSON merge patch. */
  patch(path: string, patch: Obj): Promise<Obj> {
    return this.ok('PATCH', `${path}?fieldManager=sluice`, patch, 'application/merge-patch+json');
  }

  /**
   * Opens a stream (a watch or pod logs) and hands each line to `onLine`. Resolves when the
   * server ends the stream; rejects on a non-2xx answer (a KubeApiError) or a dropped connection.
   */
  async stream(path: string, onLine: (line: string) => boolean | void, signal?: AbortSignal): Promise<'ended' | 'stopped'> {
    const res = await this.open('GET', path, undefined, undefined, 0);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw this.toError('GET', path, status, await Kube.read(res));
    return new Promise((resolve, reject) => {
      let buf = '';
      let done = false;
      const finish = (how: 'ended' | 'stopped') => {
        if (done) return;
        done = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(how);
      };
      const onAbort = () => { finish('stopped'); res.destroy(); };
      signal?.addEventListener('abort', onAbort);
      if (signal?.aborted) return onAbort();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while (!done && (i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          let stop: boolean | void;
          try {
            stop = onLine(line);
          } catch (e) {
            done = true;
            signal?.removeEventListener('abort', onAbort);
            reject(e);
            res.destroy();
            return;
          }
          if (stop === true) {
            finish('stopped');
            res.destroy();
          }
        }
      });
      res.on('end', () => {
        if (!done && buf !== '') onLine(buf);
        finish('ended');
      });
      res.on('error', (e) => { if (!done) { done = true; reject(new Error(this.redact((e as Error).message))); } });
      res.on('aborted', () => { if (!done) { done = true; reject(new Error('the API server closed the stream')); } });
    });
  }

  /**
   * Follows one object until `onObject` returns true: lists it, then watches from the list's
   * resourceVersion. Survives watch expiry (410 Gone, as an answer or as an ERROR event: lists
   * again), 429 and 5xx (backoff), dropped connections and API server restarts (watches again
   * from the last version seen). Resolves with the last object; rejects if it is deleted.
   */
  async follow(collection: string, name: string, onObject: (obj: Obj) => boolean | void, o: { signal?: AbortSignal; timeoutSeconds?: number } = {}): Promise<Obj> {
    let rv: string | undefined;
    let last: Obj | undefined;
    let failures = 0;
    const finishedEarly = { done: false };
    const selector = `fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;
    for (;;) {
      if (o.signal?.aborted) return last ?? {};
      try {
        if (rv === undefined) {
          const list = await this.ok('GET', `${collection}?${selector}`);
          const item = ((list.items as Obj[] | undefined) ?? [])[0];
          if (!item) throw new KubeApiError(404, 'NotFound', `${name} not found in namespace ${this.namespace}`);
          rv = String((list.metadata as Obj | undefined)?.resourceVersion ?? '');
          last = item;
          if (onObject(item) === true) return item;
        }
        let gone = false;
        let finished = false;
        const q = `${selector}&watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}&timeoutSeconds=${o.timeoutSeconds ?? 300}`;
        await this.stream(`${collection}?${q}`, (line) => {
          if (!line.trim()) return;
          const ev = JSON.parse(line) as WatchEvent;
          const meta = (ev.object.metadata ?? {}) as Obj;
          if (ev.type === 'ERROR') {
            if ((ev.object as { code?: number }).code === 410) { gone = true; return true; }
            throw this.toError('WATCH', collection, Number((ev.object as { code?: number }).code ?? 500), ev.object);
          }
          if (meta.resourceVersion) rv = String(meta.resourceVersion);
          if (ev.type === 'BOOKMARK') return;
          if (ev.type === 'DELETED') throw new KubeApiError(404, 'Deleted', `${name} was deleted`);
          last = ev.object;
          failures = 0;
          if (onObject(ev.object) === true) { finished = true; finishedEarly.done = true; return true; }
        }, o.signal);
        if (finished) return last as Obj;
        if (gone) {
          this.debug(`watch of ${name}: 410 Gone (resourceVersion ${rv} expired), listing again`);
          rv = undefined;
        }
      } catch (e) {
        if (finishedEarly.done) return last as Obj;
        if (e instanceof KubeApiError && e.status === 410) {
          this.debug(`watch of ${name}: 410 Gone, listing again`);
          rv = undefined;
          continue;
        }
        if (e instanceof KubeApiError && e.status !== 429 && e.status < 500) throw e;
        failures++;
        const wait = Math.min(5000, 100 * 2 ** failures);
        if (failures > 30) throw e;
        this.debug(`watch of ${name}: ${(e as Error).message}; again in ${wait} ms`);
        await sleep(wait);
      }
    }
  }
}
