/**
 * Tracking inside a step: `ctx.log.metric/param/tag` append to `<outputs>/tracking.jsonl` (the
 * local runner ingests it after the attempt; in a pod it travels with the outputs), and
 * `ctx.models` talks to the registry the environment names (loaded on first use only).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { InputArtifact, ModelVersionInfo, OutputArtifact, StepModels } from '@sluice/sdk';
import { checkGateSpec, type GateSpec, openRegistry, preflightStep, sendStepTracking, TrackingWriter, trackingLog, type Registry, type StepTrackingSend, type TrackingLog } from '@sluice/tracking';

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
 * a nested run of the workflow's run, and copies its output artifacts when the pipeline's
 * `tracking.artifacts` asks (`@sluice/tracking` sendStepTracking, resolved as locally). A server
 * that is down is a warning unless tracking is required; the events stay in the step's outputs.
 */
export async function sendPodTracking(outputsDir: string, runId: string, taskKey: string, env: NodeJS.ProcessEnv = process.env, from: Pick<StepTrackingSend, 'option' | 'pipeline' | 'artifacts'> = {}): Promise<string | undefined> {
  return sendStepTracking({ outputsDir, runId, taskKey, env, ...from });
}

/** Before a step runs in a pod: the message refusing it when tracking is required and the server does not answer (`@sluice/tracking` preflightStep). */
export function podTrackingRefusal(env: NodeJS.ProcessEnv, from: Pick<StepTrackingSend, 'option' | 'pipeline'>): Promise<string | undefined> {
  return preflightStep({ env, ...from });
}
