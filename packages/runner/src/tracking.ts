/**
 * The runner's side of tracking: after each attempt the step's `tracking.jsonl` goes into the
 * embedded store; after the run, when an MLflow server is configured, the run is sent there (a
 * server that is down leaves the run pending with a warning, unless tracking is required).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineIR } from '@sluice/sdk';
import { checkRequiredTracking, MlflowClient, openTrackingStore, parseEvents, redact, resolveTracking, syncRun, TRACKING_FILE, TrackingError, type RunInfo, type TrackingFlags, type TrackingTarget } from '@sluice/tracking';
import type { StateStore } from './store/state.ts';

/** Where a run's tracking goes: `sluice run` flags > environment > the pipeline's option (one rule, `@sluice/sdk` semantics/tracking). */
export function runTracking(ir: Pick<PipelineIR, 'name' | 'options'>, flags: TrackingFlags = {}, env: NodeJS.ProcessEnv = process.env): TrackingTarget {
  return resolveTracking(env, ir.options.tracking, flags, ir.name);
}

/**
 * With required tracking, checks before anything runs that the server answers and accepts us.
 * Throws a `TrackingError` (exit 2: the run is refused as configured, like bad input; nothing was
 * started, nothing written to the store).
 */
export async function preflightTracking(target: TrackingTarget): Promise<void> {
  await checkRequiredTracking(target);
}

type TStore = Awaited<ReturnType<typeof openTrackingStore>>;

/**
 * Exit code of `sluice run`/`resume`/`retry` when the run succeeded and is recorded but the
 * tracking server it requires was lost before the run could be sent (code `tracking.lost`; the
 * error carries the exit code: a failed run still exits 1, an interrupted one 130).
 * Neither 1 (the run did not fail) nor 2 (nothing in the input was wrong; a server that is down
 * at the start is refused with 2, before anything runs); not one of `sluice exec`'s codes either
 * (`EXIT` in `@sluice/sdk`'s semantics: 0, 1, 2, 3, 143).
 */
export const TRACKING_LOST_EXIT = 4;

/** What `runInfo` needs of the runner's store. */
export function runInfo(state: StateStore, runId: string, artifactPath?: (hash: string) => string): RunInfo {
  const run = state.findRun(runId);
  const artifacts = state.artifactsOfRun(run.id);
  // data the run read: artifact inputs of its tasks (pipeline inputs and consumed outputs)
  const data = new Set<string>();
  const tasks = state.tasksOfRun(run.id);
  for (const t of tasks) {
    if (!t.inputs) continue;
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object' && (v as { kind?: unknown }).kind === 'artifact' && typeof (v as { hash?: unknown }).hash === 'string') data.add(`sha256:${(v as { hash: string }).hash}`);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    try {
      walk(JSON.parse(t.inputs));
    } catch { /* not JSON */ }
  }
  return {
    runId: run.id, pipeline: run.pipeline, status: run.status, startedAt: run.created_at, finishedAt: run.finished_at,
    params: JSON.parse(run.params) as Record<string, unknown>, gitCommit: run.git_commit, gitDirty: run.git_dirty === null ? null : run.git_dirty === 1,
    irHash: run.ir_hash, dataHashes: [...data].sort(),
    tasks: tasks.map((t) => ({
      key: t.key, state: t.state, startedAt: t.started_at, finishedAt: t.finished_at,
      artifacts: artifacts.filter((a) => a.task_key === t.key).map((a) => ({ output: a.output, hash: `sha256:${a.hash}`, uri: `sluice:${run.id}/${t.key}/${a.output}`, type: a.type, ...(artifactPath ? { path: artifactPath(a.hash) } : {}) })),
    })),
  };
}

/** Collects the tracking events of attempts into the embedded store (opened once per run). */
export class TrackingIngest {
  private t: TStore | undefined;
  constructor(private readonly storeDir: string) {}
  /** Reads `<outputsDir>/tracking.jsonl` when the step wrote one. Returns the number of events. */
  async attempt(runId: string, key: string, attempt: number, outputsDir: string): Promise<number> {
    const f = join(outputsDir, TRACKING_FILE);
    if (!existsSync(f)) return 0;
    const events = parseEvents(readFileSync(f, 'utf8'));
    this.t ??= await openTrackingStore(this.storeDir);
    this.t.ingest(runId, key, attempt, events);
    return events.length;
  }
  close(): void {
    this.t?.close();
    this.t = undefined;
  }
}

/**
 * Sends a finished run to MLflow when one is configured. Returns a warning to show (server down,
 * run kept pending) or, when tracking is required, throws a `TrackingError` with code
 * `tracking.lost` (the run is recorded and its tracking pending; the CLI exits
 * {@link TRACKING_LOST_EXIT}).
 */
export async function syncAfterRun(storeDir: string, state: StateStore, runId: string, target: TrackingTarget, artifactPath?: (hash: string) => string): Promise<string | undefined> {
  if (target.kind !== 'mlflow') return undefined;
  const t = await openTrackingStore(storeDir);
  const client = new MlflowClient({ uri: target.uri, ...(target.token ? { token: target.token } : {}) });
  const opts = { ...(target.experiment ? { experiment: target.experiment } : {}), artifacts: target.artifacts };
  try {
    await syncRun(t, client, runInfo(state, runId, artifactPath), opts);
    // the server is back: send what earlier runs could not (each run's sync is idempotent)
    for (const p of t.pending(client.uri)) {
      const other = pendingTarget(state, p.runId, p.uri);
      if (other) await syncRun(t, client, runInfo(state, p.runId, artifactPath), syncOptions(other)).catch(() => {});
    }
    return undefined;
  } catch (e) {
    if (target.required) {
      // the run ran and is recorded: not bad input (exit 2), but its tracking, which the run
      // requires, did not arrive (exit 4, TRACKING_LOST_EXIT)
      const status = state.findRun(runId).status;
      // a failed or interrupted run keeps its own exit code (1, 130); the message names both
      const exitCode = status === 'succeeded' ? TRACKING_LOST_EXIT : status === 'interrupted' ? 130 : 1;
      throw Object.assign(new TrackingError('tracking.lost', `tracking is required, but MLflow at ${redact(target.uri)} was lost during the run (${(e as Error).message}): run ${runId} ${status} and is recorded in the store, its tracking kept pending; \`sluice tracking flush\` sends it once the server is back`), { exitCode });
    }
    return `tracking: could not send run ${runId} to MLflow at ${redact(target.uri)} (${(e as Error).message}); it is kept in the store and sent by \`sluice tracking flush\` or the next run`;
  } finally {
    t.close();
  }
}

const syncOptions = (t: Extract<TrackingTarget, { kind: 'mlflow' }>) => ({ ...(t.experiment ? { experiment: t.experiment } : {}), artifacts: t.artifacts });

/** How a pending run is sent again: to the server it was meant for, with its pipeline's settings and today's environment. */
function pendingTarget(state: StateStore, runId: string, uri: string): Extract<TrackingTarget, { kind: 'mlflow' }> | undefined {
  let ir: Pick<PipelineIR, 'name' | 'options'>;
  try {
    ir = JSON.parse(state.findRun(runId).ir) as PipelineIR;
  } catch {
    return undefined;
  }
  const t = runTracking(ir, { uri });
  return t.kind === 'mlflow' ? t : undefined;
}

/** Sends every run still pending (to the server each was meant for); returns what was sent and what is left. */
export async function flushPending(storeDir: string, state: StateStore, artifactPath?: (hash: string) => string): Promise<{ sent: string[]; left: { runId: string; error: string }[] }> {
  const t = await openTrackingStore(storeDir);
  const sent: string[] = [];
  const left: { runId: string; error: string }[] = [];
  try {
    for (const p of t.pending()) {
      try {
        const target = pendingTarget(state, p.runId, p.uri);
        if (!target) throw new Error(`run ${p.runId} is not in this store any more`);
        const client = new MlflowClient({ uri: target.uri, ...(target.token ? { token: target.token } : {}) });
        await syncRun(t, client, runInfo(state, p.runId, artifactPath), syncOptions(target));
        sent.push(p.runId);
      } catch (e) {
        left.push({ runId: p.runId, error: (e as Error).message });
      }
    }
  } finally {
    t.close();
  }
  return { sent, left };
}
