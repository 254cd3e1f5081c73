/**
 * Sends what the embedded store holds for a run to MLflow: one MLflow run per Sluice run in an
 * experiment named after the pipeline, one nested run per task (`mlflow.parentRunId`), params,
 * every metric step and tags (git commit and dirtiness, IR hash, Sluice run id, input data
 * hashes) in batches. Idempotent: MLflow runs are found again by their `sluice.*` tags, what was
 * sent is remembered per task, and MLflow keeps one copy of an identical metric point, so a sync
 * cut short and repeated logs nothing twice.
 */
import type { TrackingArtifactsIR } from '@sluice/sdk';
import { copyArtifacts } from './artifacts.ts';
import type { TrackingStore } from './embedded.ts';
import { MlflowClient, MlflowError, type KeyValue } from './mlflow.ts';

/** What the runner knows of a run (plain data; the tracking package reads no runner tables). */
export interface RunInfo {
  readonly runId: string;
  readonly pipeline: string;
  readonly status: 'running' | 'succeeded' | 'failed' | 'interrupted' | string;
  readonly startedAt: number;
  readonly finishedAt?: number | null;
  readonly params: { readonly [name: string]: unknown };
  readonly gitCommit?: string | null;
  readonly gitDirty?: boolean | null;
  readonly irHash: string;
  /** Content hashes of the artifacts the run read (pipeline inputs and every consumed artifact). */
  readonly dataHashes?: readonly string[];
  readonly tasks: readonly { readonly key: string; readonly state: string; readonly startedAt?: number | null; readonly finishedAt?: number | null; readonly artifacts?: readonly { output: string; hash: string; uri: string; type?: string; path?: string }[] }[];
}

export interface SyncOptions {
  /** Experiment name. @default the pipeline's name */
  readonly experiment?: string;
  /** Output artifacts of succeeded tasks uploaded to their MLflow run (bytes from `path`). @default 'none' */
  readonly artifacts?: TrackingArtifactsIR;
}

const runTag = 'sluice.run_id';
const taskTag = 'sluice.task_key';

/** Finds (by tags) or creates the MLflow run of a Sluice run (`taskKey` '') or of one of its tasks. */
export async function ensureMlflowRun(client: MlflowClient, experiment: string, runId: string, taskKey: string, extraTags: readonly KeyValue[] = [], startTime = Date.now()): Promise<string> {
  const exp = await client.ensureExperiment(experiment);
  const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const found = await client.searchRuns([exp], `tags.\`${runTag}\` = ${q(runId)}`);
  const mine = found.filter((r) => ((r.data.tags ?? []).find((t) => t.key === taskTag)?.value ?? '') === taskKey);
  if (mine[0]) return mine[0].info.run_id;
  let parent: string | undefined;
  if (taskKey !== '') parent = await ensureMlflowRun(client, experiment, runId, '', [], startTime);
  const tags: KeyValue[] = [{ key: runTag, value: runId }, { key: taskTag, value: taskKey }, ...(parent ? [{ key: 'mlflow.parentRunId', value: parent }] : []), ...extraTags];
  return client.createRun(exp, taskKey === '' ? runId : taskKey, tags, startTime);
}

const mlStatus = (s: string) => (s === 'succeeded' ? 'FINISHED' : s === 'failed' ? 'FAILED' : s === 'interrupted' ? 'KILLED' : 'RUNNING');
const paramText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v)).slice(0, 6000);

/**
 * Sends a run's tracking data to MLflow; on failure records the run as pending (shown by
 * `sluice tracking status`, retried by `sluice tracking flush` and by the next run) and rethrows.
 *
 * @example
 * await syncRun(store, new MlflowClient({ uri }), info);
 */
export async function syncRun(store: TrackingStore, client: MlflowClient, info: RunInfo, opts: SyncOptions = {}): Promise<{ metrics: number; runs: number; files: number; bytes: number }> {
  const uri = client.uri;
  const experiment = opts.experiment ?? info.pipeline;
  let metrics = 0;
  let runs = 0;
  let files = 0;
  let bytes = 0;
  try {
    const runTags: KeyValue[] = [
      { key: 'sluice.pipeline', value: info.pipeline }, { key: 'sluice.ir_hash', value: info.irHash },
      ...(info.gitCommit ? [{ key: 'sluice.git_commit', value: info.gitCommit }, { key: 'mlflow.source.git.commit', value: info.gitCommit }] : []),
      ...(info.gitDirty !== undefined && info.gitDirty !== null ? [{ key: 'sluice.git_dirty', value: String(info.gitDirty) }] : []),
      { key: 'sluice.data_hashes', value: JSON.stringify([...(info.dataHashes ?? [])].sort()).slice(0, 8000) },
    ];
    const keys = ['', ...new Set([...info.tasks.map((t) => t.key), ...store.trackedTasks(info.runId)])];
    const params = store.params(info.runId);
    const tags = store.tags(info.runId);
    for (const key of keys) {
      const task = info.tasks.find((t) => t.key === key);
      let s = store.syncRow(uri, info.runId, key);
      if (!s) {
        const id = await ensureMlflowRun(client, experiment, info.runId, key, [], (key === '' ? info.startedAt : task?.startedAt) ?? info.startedAt);
        s = { mlflowRunId: id, metricsSent: 0, paramsSent: new Set<string>(), finished: false };
        store.saveSync(uri, info.runId, key, s);
        runs++;
      }
      if (s.finished) continue;
      const p: KeyValue[] = key === ''
        ? Object.entries(info.params).map(([k, v]) => ({ key: k, value: paramText(v) }))
        : params.filter((x) => x.taskKey === key).map((x) => ({ key: x.name, value: x.value }));
      const newParams = p.filter((x) => !s.paramsSent.has(x.key));
      const t: KeyValue[] = key === '' ? runTags : [...tags.filter((x) => x.taskKey === key).map((x) => ({ key: x.name, value: x.value })), ...(task ? [{ key: 'sluice.task_state', value: task.state }] : []),
        ...(task?.artifacts ?? []).flatMap((a) => [{ key: `sluice.artifact.${a.output}.hash`, value: a.hash }, { key: `sluice.artifact.${a.output}.uri`, value: a.uri }])];
      const points = key === '' ? [] : store.metricsSince(info.runId, key, s.metricsSent);
      await client.logBatch(s.mlflowRunId, { params: newParams, tags: t, metrics: points.map((m) => ({ key: m.name, value: m.value, timestamp: m.time, step: m.step })) });
      metrics += points.length;
      for (const x of newParams) s.paramsSent.add(x.key);
      if (points.length) s.metricsSent = (points.at(-1) as { rowid: number }).rowid;
      const done = info.status !== 'running' && (key === '' || (task !== undefined && !['running', 'retrying', 'waiting'].includes(task.state)));
      if (done && (task?.state === 'succeeded' || task?.state === 'cached') && opts.artifacts && opts.artifacts !== 'none') {
        const local = (task.artifacts ?? []).flatMap((a) => (a.path ? [{ output: a.output, type: a.type ?? 'Artifact', hash: a.hash, path: a.path }] : []));
        const c = await copyArtifacts(client, s.mlflowRunId, local, opts.artifacts);
        files += c.files;
        bytes += c.bytes;
      }
      if (done) {
        const end = (key === '' ? info.finishedAt : task?.finishedAt) ?? Date.now();
        await client.updateRun(s.mlflowRunId, mlStatus(key === '' ? info.status : task?.state === 'failed' ? 'failed' : 'succeeded'), end);
        s.finished = true;
      }
      store.saveSync(uri, info.runId, key, s);
    }
    store.clearPending(uri, info.runId);
    return { metrics, runs, files, bytes };
  } catch (e) {
    store.markPending(uri, info.runId, e instanceof MlflowError ? e.message : String((e as Error)?.message ?? e));
    throw e;
  }
}
