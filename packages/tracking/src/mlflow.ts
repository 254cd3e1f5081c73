/**
 * A small client for MLflow's tracking and model-registry REST API (`/api/2.0/mlflow/...`), over
 * `fetch`. Only what Sluice uses: experiments, runs, batched logging, registered models, model
 * versions and aliases (never the deprecated stages).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { TrackingError } from './events.ts';

export interface MlflowOptions {
  /** `http://host:port` of the tracking server. */
  readonly uri: string;
  /** A bearer token (from a secret; never printed). */
  readonly token?: string;
  /** Per request. @default 10000 */
  readonly timeoutMs?: number;
  /** Attempts for a request that failed to connect or got a 5xx/429. @default 3 */
  readonly attempts?: number;
}

export interface MlflowRun {
  readonly info: { readonly run_id: string; readonly experiment_id: string; readonly status: string; readonly run_name?: string; readonly start_time?: number; readonly end_time?: number; readonly artifact_uri?: string };
  readonly data: {
    readonly metrics?: readonly { key: string; value: number; timestamp: number; step: number }[];
    readonly params?: readonly { key: string; value: string }[];
    readonly tags?: readonly { key: string; value: string }[];
  };
}
export interface MlflowMetric { readonly key: string; readonly value: number; readonly timestamp: number; readonly step: number }
export interface MlflowModelVersion {
  readonly name: string;
  readonly version: string;
  readonly source?: string;
  readonly run_id?: string;
  readonly tags?: readonly { key: string; value: string }[];
  readonly aliases?: readonly string[];
  readonly creation_timestamp?: number;
}
export interface KeyValue { readonly key: string; readonly value: string }
/** One entry of an artifact listing (`path` relative to the listed directory's root). */
export interface MlflowFileInfo { readonly path: string; readonly is_dir?: boolean; readonly file_size?: number }

/** The route of MLflow's artifact proxy (`mlflow server --serve-artifacts`, the default since MLflow 2). */
const ARTIFACTS_ROUTE = '/api/2.0/mlflow-artifacts/artifacts';

/**
 * The proxied path (relative to the server's artifact destination) of a run's artifact root, or
 * undefined when the server hands out a root it does not proxy (`s3://…`, a local path).
 */
export function proxiedArtifactRoot(artifactUri: string): string | undefined {
  let u: URL;
  try {
    u = new URL(artifactUri);
  } catch {
    return undefined;
  }
  if (u.protocol === 'mlflow-artifacts:') return decodeURIComponent(u.pathname).replace(/^\/+/, '');
  if ((u.protocol === 'http:' || u.protocol === 'https:') && u.pathname.includes(`${ARTIFACTS_ROUTE}/`)) return decodeURIComponent(u.pathname.split(`${ARTIFACTS_ROUTE}/`)[1] as string).replace(/^\/+/, '');
  return undefined;
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/** MLflow's `log-batch` limits (1000 metrics, 100 params, 100 tags, 1000 items in all). */
export const BATCH = { metrics: 1000, params: 100, tags: 100, total: 1000 } as const;

/** An error answered by the server (`error_code` such as `RESOURCE_ALREADY_EXISTS`) or a transport failure (`UNAVAILABLE`). */
export class MlflowError extends TrackingError {
  readonly status: number;
  readonly errorCode: string;
  constructor(status: number, errorCode: string, message: string) {
    super(`mlflow.${errorCode}`, message);
    this.name = 'MlflowError';
    this.status = status;
    this.errorCode = errorCode;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class MlflowClient {
  readonly uri: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly attempts: number;

  constructor(opts: MlflowOptions) {
    this.uri = opts.uri.replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.attempts = opts.attempts ?? 3;
  }

  /** The server's address without credentials, for messages. */
  toString(): string {
    try {
      const u = new URL(this.uri);
      u.username = '';
      u.password = '';
      return u.toString().replace(/\/$/, '');
    } catch {
      return '<mlflow>';
    }
  }

  private async call<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: Record<string, unknown>): Promise<T> {
    let url = `${this.uri}/api/2.0/mlflow/${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    let payload: string | undefined;
    if (method === 'GET' && body) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(body)) if (v !== undefined) q.set(k, String(v));
      url += `?${q}`;
    } else if (body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const text = await this.request(method, url, path, () => ({ headers, ...(payload !== undefined ? { body: payload } : {}) }), (res) => res.text());
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * One HTTP exchange with retries on a failed connection, a 5xx or a 429 (`init` is called per
   * attempt, so a streamed body starts again from its beginning); other answers throw at once.
   */
  private async request<R>(method: string, url: string, what: string, init: () => { headers: Record<string, string>; body?: RequestInit['body']; duplex?: 'half' }, read: (res: Response) => Promise<R>, timeoutMs = this.timeoutMs): Promise<R> {
    let last: unknown;
    for (let i = 1; i <= this.attempts; i++) {
      try {
        const x = init();
        if (this.token) x.headers.authorization = `Bearer ${this.token}`;
        const res = await fetch(url, { method, ...x, signal: AbortSignal.timeout(timeoutMs) } as RequestInit);
        if (res.ok) return await read(res);
        const text = await res.text();
        const path = what;
        let code = `HTTP_${res.status}`;
        let message = text.slice(0, 300);
        try {
          const j = JSON.parse(text) as { error_code?: string; message?: string };
          if (j.error_code) code = j.error_code;
          if (j.message) message = j.message;
        } catch { /* not JSON */ }
        const err = new MlflowError(res.status, code, `MLflow ${this} answered ${res.status} ${code} to ${method} ${path}: ${message}`);
        if (res.status < 500 && res.status !== 429) throw err;
        last = err;
      } catch (e) {
        if (e instanceof MlflowError && e.status < 500 && e.status !== 429) throw e;
        last = e;
      }
      if (i < this.attempts) await sleep(100 * 2 ** (i - 1));
    }
    if (last instanceof MlflowError) throw last;
    throw new MlflowError(0, 'UNAVAILABLE', `MLflow ${this} is not reachable (${(last as Error)?.message ?? last})`);
  }

  // ---- experiments
  async getExperimentByName(name: string): Promise<string | undefined> {
    try {
      const r = await this.call<{ experiment: { experiment_id: string } }>('GET', 'experiments/get-by-name', { experiment_name: name });
      return r.experiment.experiment_id;
    } catch (e) {
      if (e instanceof MlflowError && e.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw e;
    }
  }
  /** The experiment's id, creating it when missing (safe when two writers race). */
  async ensureExperiment(name: string): Promise<string> {
    const found = await this.getExperimentByName(name);
    if (found) return found;
    try {
      return (await this.call<{ experiment_id: string }>('POST', 'experiments/create', { name })).experiment_id;
    } catch (e) {
      if (e instanceof MlflowError && e.errorCode === 'RESOURCE_ALREADY_EXISTS') return (await this.getExperimentByName(name)) as string;
      throw e;
    }
  }

  // ---- runs
  async createRun(experimentId: string, runName: string, tags: readonly KeyValue[], startTime: number): Promise<string> {
    const r = await this.call<{ run: MlflowRun }>('POST', 'runs/create', { experiment_id: experimentId, run_name: runName, start_time: startTime, tags });
    return r.run.info.run_id;
  }
  async updateRun(runId: string, status: 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED', endTime?: number): Promise<void> {
    await this.call('POST', 'runs/update', { run_id: runId, status, ...(endTime !== undefined ? { end_time: endTime } : {}) });
  }
  async getRun(runId: string): Promise<MlflowRun> {
    return (await this.call<{ run: MlflowRun }>('GET', 'runs/get', { run_id: runId })).run;
  }
  /** Runs of the experiments matching an MLflow filter string (every page). */
  async searchRuns(experimentIds: readonly string[], filter: string): Promise<MlflowRun[]> {
    const out: MlflowRun[] = [];
    let token: string | undefined;
    do {
      const r = await this.call<{ runs?: MlflowRun[]; next_page_token?: string }>('POST', 'runs/search', { experiment_ids: experimentIds, filter, max_results: 1000, ...(token ? { page_token: token } : {}) });
      out.push(...(r.runs ?? []));
      token = r.next_page_token;
    } while (token);
    return out;
  }
  /** Logs metrics, params and tags in as few `log-batch` calls as MLflow's limits allow. */
  async logBatch(runId: string, batch: { metrics?: readonly MlflowMetric[]; params?: readonly KeyValue[]; tags?: readonly KeyValue[] }): Promise<void> {
    const metrics = [...(batch.metrics ?? [])];
    const params = [...(batch.params ?? [])];
    const tags = [...(batch.tags ?? [])];
    while (metrics.length || params.length || tags.length) {
      const p = params.splice(0, BATCH.params);
      const t = tags.splice(0, BATCH.tags);
      const m = metrics.splice(0, Math.min(BATCH.metrics, BATCH.total - p.length - t.length));
      await this.call('POST', 'runs/log-batch', { run_id: runId, metrics: m, params: p, tags: t });
    }
  }
  async metricHistory(runId: string, key: string): Promise<MlflowMetric[]> {
    const out: MlflowMetric[] = [];
    let token: string | undefined;
    do {
      const r = await this.call<{ metrics?: MlflowMetric[]; next_page_token?: string }>('GET', 'metrics/get-history', { run_id: runId, metric_key: key, max_results: 25000, ...(token ? { page_token: token } : {}) });
      out.push(...(r.metrics ?? []));
      token = r.next_page_token;
    } while (token);
    return out;
  }

  // ---- model registry
  async ensureRegisteredModel(name: string): Promise<void> {
    try {
      await this.call('POST', 'registered-models/create', { name });
    } catch (e) {
      if (!(e instanceof MlflowError && e.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw e;
    }
  }
  /** The model's aliases (`registered-models/get`); undefined when the model does not exist. */
  async modelAliases(name: string): Promise<{ alias: string; version: string }[] | undefined> {
    try {
      const r = await this.call<{ registered_model: { aliases?: { alias: string; version: string }[] } }>('GET', 'registered-models/get', { name });
      return r.registered_model.aliases ?? [];
    } catch (e) {
      if (e instanceof MlflowError && e.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw e;
    }
  }
  async createModelVersion(name: string, source: string, runId: string | undefined, tags: readonly KeyValue[]): Promise<MlflowModelVersion> {
    return (await this.call<{ model_version: MlflowModelVersion }>('POST', 'model-versions/create', { name, source, ...(runId ? { run_id: runId } : {}), tags })).model_version;
  }
  async searchModelVersions(name: string): Promise<MlflowModelVersion[]> {
    const out: MlflowModelVersion[] = [];
    let token: string | undefined;
    do {
      const r = await this.call<{ model_versions?: MlflowModelVersion[]; next_page_token?: string }>('GET', 'model-versions/search', { filter: `name='${name.replace(/'/g, "\\'")}'`, max_results: 1000, ...(token ? { page_token: token } : {}) });
      out.push(...(r.model_versions ?? []));
      token = r.next_page_token;
    } while (token);
    return out;
  }
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call('POST', 'registered-models/alias', { name, alias, version });
  }
  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.call('DELETE', 'registered-models/alias', { name, alias });
  }
  async getByAlias(name: string, alias: string): Promise<MlflowModelVersion | undefined> {
    try {
      return (await this.call<{ model_version: MlflowModelVersion }>('GET', 'registered-models/alias', { name, alias })).model_version;
    } catch (e) {
      if (e instanceof MlflowError && (e.errorCode === 'RESOURCE_DOES_NOT_EXIST' || e.errorCode === 'INVALID_PARAMETER_VALUE')) return undefined;
      throw e;
    }
  }
  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.call('POST', 'model-versions/set-tag', { name, version, key, value });
  }

  // ---- artifacts, through the server's artifact proxy (`mlflow-artifacts`)
  /** The proxied path of a run's artifact root; throws when the server does not proxy artifacts for it. */
  async runArtifactRoot(runId: string): Promise<string> {
    const run = await this.getRun(runId);
    const root = run.info.artifact_uri ? proxiedArtifactRoot(run.info.artifact_uri) : undefined;
    if (root === undefined) throw new MlflowError(0, 'ARTIFACTS_NOT_PROXIED', `MLflow ${this} gives run ${runId} the artifact location ${JSON.stringify(run.info.artifact_uri ?? '')}, which it does not serve: Sluice uploads artifacts through the server's artifact proxy (start it with --serve-artifacts and --artifacts-destination, the default since MLflow 2)`);
    return root;
  }
  /** Uploads one file to `path` (relative to the artifact destination), streamed; the same path again replaces it. */
  async uploadArtifact(path: string, file: string): Promise<void> {
    const size = (await stat(file)).size;
    await this.request('PUT', `${this.uri}${ARTIFACTS_ROUTE}/${encodePath(path)}`, `artifacts/${path}`, () => ({
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      // a Node stream is an async iterable fetch can send as it reads (1 MiB reads)
      body: createReadStream(file, { highWaterMark: 1 << 20 }) as unknown as RequestInit['body'], duplex: 'half',
    }), (res) => res.arrayBuffer(), Math.max(this.timeoutMs, 600_000));
  }
  /** The entries of a directory of the artifact destination (empty when it does not exist). */
  async listArtifacts(path: string): Promise<MlflowFileInfo[]> {
    const r = await this.request('GET', `${this.uri}${ARTIFACTS_ROUTE}?${new URLSearchParams({ path })}`, `artifacts?path=${path}`, () => ({ headers: { accept: 'application/json' } }), (res) => res.json() as Promise<{ files?: MlflowFileInfo[] }>);
    return r.files ?? [];
  }
  /** The bytes of one artifact file (`path` relative to the artifact destination). */
  async downloadArtifact(path: string): Promise<Buffer> {
    return this.request('GET', `${this.uri}${ARTIFACTS_ROUTE}/${encodePath(path)}`, `artifacts/${path}`, () => ({ headers: {} }), async (res) => Buffer.from(await res.arrayBuffer()), Math.max(this.timeoutMs, 600_000));
  }
  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.call('POST', 'runs/set-tag', { run_id: runId, key, value });
  }
}
