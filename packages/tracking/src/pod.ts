/**
 * The pod side of tracking: with no local runner to ingest a step's events, `sluice exec` sends
 * them (and, when the setting asks, the step's output artifacts) to MLflow itself, as a nested run
 * of the workflow's run. Resolved exactly as locally ({@link resolveTracking}): in a pod the
 * environment is what the compiler emitted from the pipeline's option.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrackingIR } from '@sluice/sdk';
import { artifactHash, copyArtifacts, type ArtifactToCopy } from './artifacts.ts';
import { redact, resolveTracking } from './config.ts';
import { parseEvents, TRACKING_FILE, TrackingError } from './events.ts';
import { MlflowClient } from './mlflow.ts';
import { checkRequiredTracking } from './preflight.ts';
import { ensureMlflowRun } from './sync.ts';

/**
 * Before a step runs in a pod: with required tracking, the refusal's message when the server is
 * absent, down or refusing (the executor then ends the step as invalid, exit 2, never retried),
 * else undefined.
 */
export async function preflightStep(s: Pick<StepTrackingSend, 'env' | 'option' | 'pipeline'>): Promise<string | undefined> {
  const env = s.env ?? process.env;
  try {
    await checkRequiredTracking(resolveTracking(env, s.option, {}, s.pipeline ?? env.SLUICE_PIPELINE));
    return undefined;
  } catch (e) {
    if (e instanceof TrackingError) return e.message;
    throw e;
  }
}

export interface StepTrackingSend {
  readonly outputsDir: string;
  readonly runId: string;
  readonly taskKey: string;
  readonly env?: NodeJS.ProcessEnv;
  /** The pipeline's tracking option and name (from the IR the step loaded). */
  readonly option?: TrackingIR;
  readonly pipeline?: string;
  /** The step's output artifacts when it succeeded (nothing is copied for a failed attempt). */
  readonly artifacts?: readonly Omit<ArtifactToCopy, 'hash'>[];
}

/**
 * Sends a step's tracking events and copies its artifacts. A server that is down is a warning
 * (returned) unless tracking is required (thrown); the events stay in the step's outputs.
 */
export async function sendStepTracking(s: StepTrackingSend): Promise<string | undefined> {
  const env = s.env ?? process.env;
  const target = resolveTracking(env, s.option, {}, s.pipeline ?? env.SLUICE_PIPELINE);
  if (target.kind !== 'mlflow') return undefined;
  const file = join(s.outputsDir, TRACKING_FILE);
  const events = existsSync(file) ? parseEvents(readFileSync(file, 'utf8')) : [];
  const copies = target.artifacts === 'none' ? [] : (s.artifacts ?? []);
  if (!events.length && !copies.length) return undefined;
  const client = new MlflowClient({ uri: target.uri, ...(target.token ? { token: target.token } : {}) });
  try {
    const id = await ensureMlflowRun(client, target.experiment ?? 'sluice', s.runId, s.taskKey);
    await client.logBatch(id, {
      metrics: events.flatMap((e) => (e.kind === 'metric' ? [{ key: e.name, value: e.value, timestamp: e.time, step: e.step }] : [])),
      params: events.flatMap((e) => (e.kind === 'param' ? [{ key: e.name, value: e.value }] : [])),
      tags: events.flatMap((e) => (e.kind === 'tag' ? [{ key: e.name, value: e.value }] : [])),
    });
    if (copies.length) {
      const withHash = await Promise.all(copies.map(async (a) => ({ ...a, hash: await artifactHash(a.path) })));
      await copyArtifacts(client, id, withHash, target.artifacts);
    }
    return undefined;
  } catch (e) {
    const msg = `tracking: could not send the events of ${s.taskKey} to MLflow at ${redact(target.uri)}: ${(e as Error).message}`;
    if (target.required) throw new TrackingError('tracking.required', msg);
    return msg;
  }
}
