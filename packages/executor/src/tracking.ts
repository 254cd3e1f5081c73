/**
 * Tracking inside a step: `ctx.log.metric/param/tag` append to `<outputs>/tracking.jsonl` (the
 * local runner ingests it after the attempt; in a pod it travels with the outputs), and
 * `ctx.models` talks to the registry the environment names (loaded on first use only).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InputArtifact, ModelVersionInfo, OutputArtifact, StepModels } from '@sluice/sdk';
import { checkGateSpec, ensureMlflowRun, type GateSpec, MlflowClient, openRegistry, parseEvents, redact, resolveTracking, TRACKING_FILE, TrackingWriter, trackingLog, type Registry, type TrackingLog } from '@sluice/tracking';

async function fileHash(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

export interface StepTracking {
  readonly log: TrackingLog;
  readonly models: StepModels;
  /** Writes buffered events and closes the registry (at the end of the step). */
  close(): void;
}

export function stepTracking(outputsDir: string, runId: string, taskKey: string, env: NodeJS.ProcessEnv = process.env): StepTracking {
  const writer = new TrackingWriter(outputsDir);
  let registry: Promise<Registry> | undefined;
  const reg = () => (registry ??= openRegistry(env));
  const info = (v: { name: string; version: number; artifactHash: string; artifactUri: string; metrics: { readonly [k: string]: number }; aliases: readonly string[] }): ModelVersionInfo =>
    ({ name: v.name, version: v.version, artifactHash: v.artifactHash, artifactUri: v.artifactUri, metrics: v.metrics, aliases: v.aliases });
  const models: StepModels = {
    async register(model: InputArtifact | OutputArtifact, opts) {
      const hash = ('contentHash' in model && model.contentHash) || (await fileHash(model.path));
      const v = await (await reg()).register({
        name: opts.name, runId, taskKey, artifactHash: hash, artifactUri: model.uri,
        gitCommit: env.SLUICE_GIT_COMMIT ?? null, gitDirty: env.SLUICE_GIT_DIRTY === undefined ? null : env.SLUICE_GIT_DIRTY === '1',
        ...(opts.metrics ? { metrics: opts.metrics } : {}), ...(opts.tags ? { tags: opts.tags } : {}),
        ...(opts.trainData ? { trainData: opts.trainData } : {}), ...(opts.evalData ? { evalData: opts.evalData } : {}),
      });
      return info(v);
    },
    async get(name, alias) {
      const v = await (await reg()).byAlias(name, alias);
      return v && info(v);
    },
    async promote(name, version, opts) {
      const r = await reg();
      const challenger = await r.version(name, version);
      if (!challenger) throw new Error(`model "${name}" has no version ${version}`);
      const problems = checkGateSpec(opts.gate as unknown as GateSpec);
      if (problems.length) throw new Error(problems.join('; '));
      const res = await r.promote({ name, alias: opts.alias, challenger, gate: opts.gate as unknown as GateSpec, runId, taskKey });
      return { promoted: res.promoted, holder: res.holder, reasons: res.decision.reasons };
    },
  };
  return {
    log: trackingLog(writer),
    models,
    close() {
      writer.flush();
      void registry?.then((r) => r.close(), () => {});
    },
  };
}

/**
 * In a pod (no local runner to ingest the events): sends the step's tracking events to MLflow as
 * a nested run of the workflow's run. A server that is down is a warning unless
 * `SLUICE_TRACKING_REQUIRED` is set; the events stay in the step's outputs either way.
 */
export async function sendPodTracking(outputsDir: string, runId: string, taskKey: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const file = join(outputsDir, TRACKING_FILE);
  if (!existsSync(file)) return undefined;
  const target = resolveTracking(env);
  if (target.kind !== 'mlflow') return undefined;
  const events = parseEvents(readFileSync(file, 'utf8'));
  const client = new MlflowClient({ uri: target.uri, ...(target.token ? { token: target.token } : {}) });
  try {
    const id = await ensureMlflowRun(client, target.experiment ?? env.SLUICE_PIPELINE ?? 'sluice', runId, taskKey);
    await client.logBatch(id, {
      metrics: events.flatMap((e) => (e.kind === 'metric' ? [{ key: e.name, value: e.value, timestamp: e.time, step: e.step }] : [])),
      params: events.flatMap((e) => (e.kind === 'param' ? [{ key: e.name, value: e.value }] : [])),
      tags: events.flatMap((e) => (e.kind === 'tag' ? [{ key: e.name, value: e.value }] : [])),
    });
    return undefined;
  } catch (e) {
    const msg = `tracking: could not send the events of ${taskKey} to MLflow at ${redact(target.uri)}: ${(e as Error).message}`;
    if (target.required) throw new Error(msg);
    return msg;
  }
}
