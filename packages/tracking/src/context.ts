/**
 * The step side of tracking, as the executor gives it to `run()`: `ctx.log.metric/param/tag`
 * append validated events to `<outputs>/tracking.jsonl` (the same locally and in a pod; the local
 * runner ingests the file after the attempt, a pod's executor sends it to MLflow), and
 * `ctx.models` registers versions in the registry the environment names.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkEvent, TRACKING_FILE, type TrackingEvent } from './events.ts';
import { resolveTracking } from './config.ts';
import { MlflowClient } from './mlflow.ts';
import type { Registry } from './registry.ts';

/** Buffers events and appends them to the step's tracking file (at most 256 or 200 ms apart, and at the end). */
export class TrackingWriter {
  readonly file: string;
  private buf: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  constructor(outputsDir: string) {
    this.file = join(outputsDir, TRACKING_FILE);
  }
  write(e: TrackingEvent): void {
    this.buf.push(JSON.stringify(checkEvent(e)));
    if (this.buf.length >= 256) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 200).unref();
  }
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.buf.length) return;
    mkdirSync(dirname(this.file), { recursive: true });
    appendFileSync(this.file, `${this.buf.join('\n')}\n`);
    this.buf = [];
  }
}

/** The tracking half of `ctx.log`. Steps count from 0 per metric when not given. */
export interface TrackingLog {
  metric(name: string, value: number, opts?: { readonly step?: number }): void;
  param(name: string, value: string | number | boolean): void;
  tag(name: string, value: string): void;
}

export function trackingLog(w: TrackingWriter, now: () => number = Date.now): TrackingLog {
  const nextStep = new Map<string, number>();
  return {
    metric(name, value, opts) {
      const step = opts?.step ?? nextStep.get(name) ?? 0;
      nextStep.set(name, Math.max(step + 1, nextStep.get(name) ?? 0));
      w.write({ kind: 'metric', name, value, step, time: now() });
    },
    param(name, value) {
      w.write({ kind: 'param', name, value: String(value) });
    },
    tag(name, value) {
      w.write({ kind: 'tag', name, value });
    },
  };
}

/**
 * The registry a step talks to: MLflow when a tracking URI is set, else the local store the runner
 * names in `SLUICE_STORE` (loaded lazily: a pod never loads SQLite).
 */
export async function openRegistry(env: NodeJS.ProcessEnv = process.env): Promise<Registry> {
  const t = resolveTracking(env);
  const { MlflowRegistry, EmbeddedRegistry } = await import('./registry.ts');
  if (t.kind === 'mlflow') {
    const client = new MlflowClient({ uri: t.uri, ...(t.token ? { token: t.token } : {}) });
    return new MlflowRegistry(client, () => t.experiment ?? env.SLUICE_PIPELINE ?? 'sluice');
  }
  const dir = env.SLUICE_STORE;
  if (!dir) throw new Error('no model registry here: set SLUICE_TRACKING_URI to an MLflow server (on a cluster), or run the step with the local runner');
  const { TrackingStore } = await import('./embedded.ts');
  return new EmbeddedRegistry(TrackingStore.open(dir));
}
