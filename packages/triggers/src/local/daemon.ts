/**
 * The local trigger daemon: feeds observations (clock ticks, files landing, webhook calls, runs
 * finishing) to the engine, records every decision, and starts each fire's run exactly once:
 *
 *   1. reserve: the new state, the decisions and the fire (UNIQUE dedupe key) in one transaction;
 *   2. launch: `runPipeline` with the run id derived from the dedupe key (a second create of that
 *      id fails, as an Argo Workflow name does with AlreadyExists);
 *   3. mark launched when the run exists.
 *
 * On start, reserved fires are launched again unless their run exists (then they are marked), and
 * runs left `running` by a killed daemon are resumed. One daemon per store (a lease).
 */
import { randomBytes, createHash } from 'node:crypto';
import { Cron } from 'croner';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JsonValue } from '@sluice/sdk';
import type { Trigger } from '../define.ts';
import { decide, type Decision, type EventFields, type Observation, type TriggerState } from '../engine.ts';
import type { S3LocationIR, TriggerIR } from '../ir.ts';
import { crashPoint } from '@sluice/executor/crash';
import { measureMonitor } from './measure.ts';
import { diffListing, listPrefix, s3Client, s3ErrorText } from './s3.ts';
import { TriggerStore, type Attachment, type FireRow } from './store.ts';

/** The largest webhook body taken, in bytes: Argo Events' webhook event source's default `maxPayloadSize` (1 MiB), so a call the cluster refuses is refused locally too. */
const MAX_WEBHOOK_BYTES = 1_048_576;

/** The envelope announcing that a run finished, locally and on the cluster (the upstream workflow's exit hook posts it). */
export interface RunFinishedEnvelope {
  readonly pipeline: string;
  readonly runId: string;
  readonly status: 'succeeded' | 'failed' | 'interrupted';
  readonly finishedAt: string;
  /** The run's scalar parameter outputs (a failed run may have none). Artifacts are not carried. */
  readonly outputs: { readonly [name: string]: JsonValue };
}

/** The envelope of a finished run read from the run store. */
export function envelopeOf(r: { id: string; pipeline: string; status: string; finished_at: number | null; outputs: string | null }): RunFinishedEnvelope {
  let raw: unknown = {};
  try { raw = JSON.parse(r.outputs ?? '{}'); } catch { /* no outputs */ }
  const outputs: { [name: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(typeof raw === 'object' && raw !== null ? raw : {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') outputs[k] = v;
  }
  return { pipeline: r.pipeline, runId: r.id, status: r.status as RunFinishedEnvelope['status'], finishedAt: new Date(r.finished_at!).toISOString(), outputs };
}

/** What the daemon needs from the runner (the CLI passes `@sluice/runner`'s functions). */
export interface RunnerDeps {
  runPipeline(pipeline: unknown, opts: {
    readonly runId?: string; readonly resume?: string; readonly params?: Readonly<Record<string, unknown>>; readonly storeDir?: string;
    readonly mode?: 'process' | 'inprocess'; readonly entry?: string; readonly exportName?: string; readonly signal?: AbortSignal;
    readonly onEvent?: (e: { readonly type: string; readonly runId?: string }) => void;
  }): Promise<{ readonly runId: string; readonly status: string; readonly error?: string }>;
  /** Creates the run store if it does not exist yet (the runner's schema). */
  ensureStore(dbFile: string): void;
}

export interface DaemonOptions {
  readonly storeDir: string;
  /** @default 1000 */
  readonly tickMs?: number;
  /** Port for webhook sources on 127.0.0.1 (0: any free port). Only opened when a trigger has a webhook source. */
  readonly port?: number;
  /** Directory relative paths in trigger definitions are resolved against. @default the working directory */
  readonly baseDir?: string;
  readonly now?: () => number;
  readonly log?: (line: string) => void;
  /** Keys per ListObjectsV2 request for S3 sources. @default 1000 */
  readonly s3PageSize?: number;
}

interface Active { readonly trigger: string; readonly abort: AbortController; readonly done: Promise<void> }

export function irHashOf(ir: TriggerIR): string {
  return createHash('sha256').update(JSON.stringify(ir)).digest('hex').slice(0, 16);
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
}

export class Daemon {
  readonly store: TriggerStore;
  private readonly byName = new Map<string, Trigger>();
  private readonly states = new Map<string, TriggerState>();
  private readonly nextDue = new Map<string, number>();
  private readonly active = new Map<string, Active>();
  private readonly holder = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly baseDir: string;
  private server: Server | undefined;
  private pendingEvents: { trigger: string; obs: Observation }[] = [];
  private stopped = false;
  private heartbeat: NodeJS.Timeout | undefined;
  /** S3 triggers: when each may list its prefix again, and the listing under way. */
  private readonly s3Due = new Map<string, number>();
  private readonly s3Polls = new Map<string, Promise<void>>();
  /** Port the webhook server listens on, once started. */
  port: number | undefined;

  constructor(triggers: readonly Trigger[], private readonly deps: RunnerDeps, private readonly opts: DaemonOptions) {
    for (const t of triggers) this.byName.set(t.ir.name, t);
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    this.baseDir = resolve(opts.baseDir ?? '.');
    const db = join(resolve(opts.storeDir), 'state.db');
    deps.ensureStore(db);
    this.store = TriggerStore.open(db);
  }

  /** Takes the lease, recovers fires a killed daemon left, opens the webhook port. */
  async start(): Promise<void> {
    this.store.acquireDaemonLease(this.holder, this.now());
    this.heartbeat = setInterval(() => this.store.beatDaemonLease(this.holder, Date.now()), 5000);
    this.heartbeat.unref();
    for (const [name] of this.byName) this.states.set(name, this.store.loadState(name));
    if (this.store.cursor('upstream') === undefined) this.store.setCursor('upstream', String(this.now()));
    this.recover();
    const hooks = [...this.byName.values()].filter((t) => t.ir.source.kind === 'data' && t.ir.source.location.kind === 'webhook');
    if (hooks.length) await this.listen(hooks);
  }

  private recover(): void {
    for (const f of this.store.unfinishedFires()) {
      const t = this.byName.get(f.trigger);
      if (!t) { this.log(`fire ${f.run_id} of unknown trigger ${f.trigger} left as it is`); continue; }
      const run = this.store.run(f.run_id);
      if (!run) {
        this.log(`recover: ${f.run_id} was reserved but not started: launching`);
        this.launch(t, f, false);
      } else {
        if (f.status === 'reserved') this.store.markLaunched(f.dedupe_key, this.now());
        if (run.status === 'running' && !this.store.runDriven(run.id, this.now())) {
          this.log(`recover: ${f.run_id} was left running: resuming`);
          this.launch(t, f, true);
        }
      }
    }
  }

  private async listen(hooks: readonly Trigger[]): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        // (kept only up to the limit: a larger body is refused, never held, whatever its size)
        if (size <= MAX_WEBHOOK_BYTES) chunks.push(c);
      });
      req.on('end', () => {
        const targets = hooks.filter((t) => t.ir.source.kind === 'data' && t.ir.source.location.kind === 'webhook' && t.ir.source.location.endpoint === req.url);
        if (req.method !== 'POST' || targets.length === 0) { res.writeHead(404).end('no webhook trigger at this path\n'); return; }
        if (size > MAX_WEBHOOK_BYTES) { res.writeHead(413).end(`body of ${size} bytes is larger than ${MAX_WEBHOOK_BYTES} (the largest Argo Events' webhook takes by default)\n`); return; }
        let body: unknown;
        try { body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'); } catch { res.writeHead(400).end('body is not JSON\n'); return; }
        if (typeof body !== 'object' || body === null || Array.isArray(body)) { res.writeHead(400).end('body must be a JSON object\n'); return; }
        const fields = { time: new Date(this.now()).toISOString(), ...(body as Record<string, JsonValue>) };
        for (const t of targets) this.pendingEvents.push({ trigger: t.ir.name, obs: { kind: 'event', fields } });
        res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: targets.map((t) => t.ir.name) }) + '\n');
      });
    });
    await new Promise<void>((ok) => this.server!.listen(this.opts.port ?? 0, '127.0.0.1', ok));
    const a = this.server.address();
    this.port = typeof a === 'object' && a ? a.port : undefined;
    this.log(`webhooks on http://127.0.0.1:${this.port}`);
  }

  /**
   * One pass over every trigger. Everything but S3 listings happens before this returns its
   * promise; the promise resolves when the S3 prefixes due for a listing have been handled.
   */
  async tick(): Promise<void> {
    const now = this.now();
    // runs this daemon did not start (resumed elsewhere, or finished while it was down)
    for (const f of this.store.unfinishedFires()) {
      if (this.active.has(f.run_id)) continue;
      const run = this.store.run(f.run_id);
      if (run && run.status !== 'running') this.finished(f.trigger, f.run_id, run.status);
    }
    const upstream = [...this.byName.values()].filter((t) => t.ir.source.kind === 'upstream');
    if (upstream.length) {
      const after = Number(this.store.cursor('upstream') ?? now);
      let last = after;
      for (const r of this.store.finishedRuns(after)) {
        const env = envelopeOf(r);
        for (const t of upstream) this.observe(t, { kind: 'event', fields: { ...env } }, now);
        last = Math.max(last, r.finished_at!);
      }
      if (last > after) this.store.setCursor('upstream', String(last));
    }
    for (const e of this.pendingEvents.splice(0)) {
      const t = this.byName.get(e.trigger);
      if (t) this.observe(t, e.obs, now);
    }
    for (const t of this.byName.values()) {
      const s = t.ir.source;
      if (s.kind === 'schedule' || s.kind === 'monitor') {
        const due = this.nextDue.get(t.ir.name);
        if (due !== undefined && now < due) continue;
        this.observe(t, { kind: 'tick' }, now);
        const st = this.states.get(t.ir.name)!;
        this.nextDue.set(t.ir.name, nextTick(s.cron, s.timezone, st.cursor ?? now));
      } else if (s.kind === 'data' && s.location.kind === 'directory') this.scanDirectory(t, s.location.path, s.location.pattern, now);
      else if (s.kind === 'data' && s.location.kind === 's3' && now >= (this.s3Due.get(t.ir.name) ?? 0) && !this.s3Polls.has(t.ir.name)) {
        this.s3Due.set(t.ir.name, now + s.location.pollMs);
        const poll = this.pollS3(t, s.location).finally(() => this.s3Polls.delete(t.ir.name));
        this.s3Polls.set(t.ir.name, poll);
      }
    }
    if (this.s3Polls.size) await Promise.all([...this.s3Polls.values()]);
  }

  /**
   * Lists an S3 prefix and observes what arrived since the cursor (key -> ETag in `trigger_seen`).
   * The first listing of a trigger is its baseline: objects already there do not fire (as on the
   * cluster, where only notifications after the EventSource starts arrive); later listings fire for
   * new keys and changed ETags, including objects that landed while the daemon was down.
   */
  private async pollS3(t: Trigger, l: S3LocationIR): Promise<void> {
    const name = t.ir.name;
    let listing;
    try {
      listing = await listPrefix(await s3Client(l), l.bucket, l.prefix, this.opts.s3PageSize ?? 1000);
    } catch (e) {
      this.log(`${name}: listing s3://${l.bucket}/${l.prefix} failed: ${s3ErrorText(e)}`);
      return;
    }
    if (this.stopped) return;
    const now = this.now();
    const cursorName = `s3:${name}`;
    const seen = this.store.seen(name);
    const { arrived, deleted } = diffListing(seen, listing);
    for (const k of deleted) this.store.forgetSeen(name, k);
    if (this.store.cursor(cursorName) === undefined) {
      this.store.baseline(name, cursorName, listing.map((o) => [o.key, o.etag] as const), now, {
        trigger: name, at: now, kind: 'skip', evidence: { objects: listing.length },
        reason: `baseline: ${listing.length} object${listing.length === 1 ? '' : 's'} already under s3://${l.bucket}/${l.prefix}; objects created or changed from now on fire`,
      });
      this.log(`${new Date(now).toISOString()} ${name} baseline of s3://${l.bucket}/${l.prefix}: ${listing.length} objects`);
      return;
    }
    for (const o of arrived) {
      this.observe(t, { kind: 'event', fields: { uri: `s3://${l.bucket}/${o.key}`, key: o.key, size: o.size, etag: o.etag, time: o.lastModified } }, now);
      this.store.markSeen(name, o.key, o.etag);
    }
  }

  private scanDirectory(t: Trigger, path: string, pattern: string, now: number): void {
    const dir = resolve(this.baseDir, path);
    let names: string[];
    try { names = readdirSync(dir); } catch { return; }
    const re = globToRegExp(pattern);
    const seen = this.store.seen(t.ir.name);
    for (const name of names.filter((n) => re.test(n)).sort()) {
      let st;
      try { st = statSync(join(dir, name)); } catch { continue; }
      if (!st.isFile()) continue;
      const etag = `${st.size}-${Math.floor(st.mtimeMs)}`;
      if (seen.get(name) === etag) continue;
      this.observe(t, { kind: 'event', fields: { uri: pathToFileURL(join(dir, name)).href, key: name, size: st.size, etag, time: new Date(st.mtimeMs).toISOString() } }, now);
      this.store.markSeen(t.ir.name, name, etag);
    }
  }

  /** Runs the engine on one observation, commits, and launches what was reserved. */
  observe(t: Trigger, obs: Observation, now: number): readonly Decision[] {
    const name = t.ir.name;
    const before = this.states.get(name)!;
    const r = decide(t.ir, before, obs, now);
    let state = r.state;
    const decisions = [...r.decisions];
    let report: string | undefined;
    let attachment: Attachment | undefined;
    if (r.measure !== undefined) {
      let m;
      try {
        m = measureMonitor(t.ir, this.store, r.measure, this.baseDir, undefined, join(resolve(this.opts.storeDir), 'triggers', 'windows'));
      } catch (e) {
        m = { observation: { kind: 'measurement' as const, scheduledTime: r.measure, reference: 'none', result: { kind: 'unavailable' as const, reason: `check failed: ${(e as Error).message}` } } };
      }
      const r2 = decide(t.ir, state, m.observation, now);
      state = r2.state;
      decisions.push(...r2.decisions);
      report = 'text' in m ? m.text : undefined;
      // the window snapshot and its drift report are kept only for the run they feed
      const fired = r2.decisions.some((d) => d.kind === 'fire');
      for (const f of [m.observation.data, m.observation.report]) if (f && !fired) rmSync(f, { force: true });
      if (fired && m.observation.report) {
        const bytes = readFileSync(m.observation.report);
        attachment = { name: 'drift-report', path: m.observation.report, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, mediaType: 'text/html' };
      }
    }
    if (decisions.length === 0 && state.cursor !== null && before.cursor !== null) {
      this.states.set(name, state);
      return decisions;
    }
    const reserved = this.store.commit(name, irHashOf(t.ir), state, decisions, now, attachment);
    this.states.set(name, state);
    for (const d of decisions) this.log(`${new Date(now).toISOString()} ${name} ${d.kind}: ${d.reason}${d.runId && d.kind === 'fire' ? ` -> ${d.runId}` : ''}`);
    crashPoint('triggers.reserved', reserved.map((d) => d.runId!), { countUnlabelled: false });
    for (const d of reserved) {
      if (report !== undefined) {
        const dir = join(resolve(this.opts.storeDir), 'triggers', 'reports', d.runId!);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'drift-report.txt'), report);
        writeFileSync(join(dir, 'decision.json'), JSON.stringify(d, null, 2) + '\n');
      }
      for (const old of d.replaces ?? []) this.active.get(old)?.abort.abort('replaced');
      const f = this.store.fires(name).find((x) => x.dedupe_key === d.dedupeKey)!;
      this.launch(t, f, false);
    }
    return decisions;
  }

  /** Reserves and launches fires found by replay (`--apply`); dedupe keys make a second apply a no-op. */
  backfill(t: Trigger, fires: readonly Decision[]): Decision[] {
    const now = this.now();
    const reserved = this.store.commit(t.ir.name, irHashOf(t.ir), this.states.get(t.ir.name)!, fires.map((d) => ({ ...d, reason: `backfill: ${d.reason}` })), now);
    for (const d of reserved) this.launch(t, this.store.fires(t.ir.name).find((x) => x.dedupe_key === d.dedupeKey)!, false);
    return reserved;
  }

  private launch(t: Trigger, f: FireRow, resume: boolean): void {
    const abort = new AbortController();
    const target = t.ir.target;
    const entry = target.entry ? resolve(this.baseDir, target.entry) : undefined;
    const done = this.deps.runPipeline(entry ?? t.pipeline, {
      storeDir: this.opts.storeDir, signal: abort.signal,
      ...(entry ? { entry, mode: 'process' as const, ...(target.exportName ? { exportName: target.exportName } : {}) } : { mode: 'inprocess' as const }),
      ...(resume ? { resume: f.run_id } : { runId: f.run_id, params: JSON.parse(f.params) as Record<string, unknown> }),
      onEvent: (e) => {
        if (e.type === 'run.started' || e.type === 'run.resumed') {
          crashPoint('triggers.launched', [f.run_id], { countUnlabelled: false });
          this.store.markLaunched(f.dedupe_key, this.now());
        }
      },
    }).then(
      (r) => this.finished(t.ir.name, f.run_id, r.status),
      (e: Error) => {
        // the run exists already (created by an earlier attempt): it is launched, not a second run
        const run = this.store.run(f.run_id);
        if (run) {
          this.store.markLaunched(f.dedupe_key, this.now());
          if (run.status !== 'running') this.finished(t.ir.name, f.run_id, run.status);
        } else {
          this.log(`${t.ir.name}: run ${f.run_id} could not start: ${e.message}`);
          this.store.markFinished(f.run_id, 'error', this.now());
          this.finished(t.ir.name, f.run_id, 'failed');
        }
      },
    ).finally(() => this.active.delete(f.run_id));
    this.active.set(f.run_id, { trigger: t.ir.name, abort, done });
  }

  private finished(trigger: string, runId: string, status: string): void {
    this.store.markFinished(runId, status, this.now());
    const t = this.byName.get(trigger);
    if (t && !this.stopped) this.observe(t, { kind: 'run-finished', runId, status }, this.now());
  }

  /** Runs launched by this daemon that have not finished. */
  get running(): number {
    return this.active.size;
  }

  /** Waits for every run this daemon started. */
  async drain(): Promise<void> {
    while (this.active.size) await Promise.all([...this.active.values()].map((a) => a.done));
  }

  /** Serves until `signal` aborts: a tick every `tickMs`. */
  async serve(signal: AbortSignal, opts: { untilIdle?: boolean } = {}): Promise<void> {
    const tickMs = this.opts.tickMs ?? 1000;
    while (!signal.aborted) {
      await this.tick();
      if (opts.untilIdle && this.active.size === 0 && this.pendingEvents.length === 0) break;
      await new Promise<void>((ok) => {
        const onAbort = () => { clearTimeout(h); ok(); };
        const h = setTimeout(() => { signal.removeEventListener('abort', onAbort); ok(); }, tickMs);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  async close(opts: { abortRuns?: boolean } = {}): Promise<void> {
    if (opts.abortRuns) for (const a of this.active.values()) a.abort.abort('daemon stopping');
    await Promise.all([...this.s3Polls.values()]);
    await this.drain();
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.server) await new Promise<void>((ok) => this.server!.close(() => ok()));
    this.store.releaseDaemonLease(this.holder);
    this.store.close();
  }
}

const crons = new Map<string, Cron>();
/** The first cron tick after `after` (ms), cached per pattern and zone: an idle trigger costs one comparison per daemon tick. */
export function nextTick(cron: string, timezone: string, after: number): number {
  const key = `${timezone} ${cron}`;
  let c = crons.get(key);
  if (!c) { c = new Cron(cron, { timezone, paused: true }); crons.set(key, c); }
  return c.nextRun(new Date(after))?.getTime() ?? Number.POSITIVE_INFINITY;
}

export type { EventFields };
