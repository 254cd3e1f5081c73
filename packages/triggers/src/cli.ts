/**
 * `sluice triggers serve | list | test | explain | replay`. Registered by the runner's CLI, which
 * passes its `runPipeline` and store set-up (so this package does not depend on the runner).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { NOT_A_FILE, pathKind } from '@sluice/executor/paths';
import { formatIssues, isPipeline, SluiceValidationError, type JsonValue } from '@sluice/sdk';
import { isTrigger, type Trigger } from './define.ts';
import { considerEvent, decide, initialState, ticksBetween, type Decision, type EventFields, type Observation, type TriggerState } from './engine.ts';
import { validateTriggerSet, durationMs } from './validate.ts';
import { Daemon, envelopeOf, type RunnerDeps } from './local/daemon.ts';
import { measureMonitor } from './local/measure.ts';
import { listPrefix, normaliseEtag, s3Client, type S3Object } from './local/s3.ts';
import { measureOnCluster } from './cluster/measure.ts';
import { TriggerError, TriggerStore } from './local/store.ts';

export interface CliDeps extends RunnerDeps {
  setCode(code: number): void;
  /** Where the store is: `--store`, else the runner's own rule (`$SLUICE_STORE`, the nearest `.sluice/` above); `.sluice` without it. */
  locateStore?(flag: string | undefined): string;
  /** Parses `--store` as the runner's verbs do (commander's argument parser: a file given as the store is refused by name). */
  storeFlag?(value: string): string;
}

/** Every trigger a module exports (named exports, or arrays of triggers), checked together. */
export async function loadTriggers(file: string): Promise<Trigger[]> {
  const abs = resolve(file);
  const kind = pathKind(abs);
  if (kind === 'missing') throw new TriggerError('file.missing', `triggers file ${file} does not exist`);
  if (kind !== 'file') throw new TriggerError('file.kind', `${file}: ${NOT_A_FILE[kind]}, not a triggers file`);
  // the loader of sluice compile and of every step: the templates' component hashes are the ones pods compute
  const { importModuleFile } = await import('@sluice/executor');
  const mod = await importModuleFile(abs);
  const out: Trigger[] = [];
  const visit = (v: unknown) => {
    if (isTrigger(v)) { if (!out.includes(v)) out.push(v); }
    else if (Array.isArray(v)) v.forEach(visit);
  };
  for (const [k, v] of Object.entries(mod)) if (k !== '__esModule') visit(v);
  if (mod.default && typeof mod.default === 'object' && !isTrigger(mod.default) && !Array.isArray(mod.default)) Object.values(mod.default).forEach(visit);
  if (out.length === 0) throw new TriggerError('file.empty', `${file} exports no triggers (export the values trigger({...}) returns)`);
  const issues = validateTriggerSet(out.map((t) => t.ir));
  if (issues.length) throw new SluiceValidationError(issues, `triggers in ${file}`);
  return out;
}

/** `-o` must name a file in an existing directory. */
function checkOutput(file: string): void {
  const dir = dirname(resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new TriggerError('cli.output', `-o ${file}: directory ${dir} does not exist`);
  if (existsSync(file) && statSync(file).isDirectory()) throw new TriggerError('cli.output', `-o ${file}: is a directory; give a file name`);
}

function pick(ts: readonly Trigger[], name: string): Trigger {
  const t = ts.find((x) => x.ir.name === name);
  if (!t) throw new TriggerError('trigger.unknown', `no trigger "${name}" (there are: ${ts.map((x) => x.ir.name).join(', ')})`);
  return t;
}

function table(rows: readonly (readonly string[])[]): string {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(w[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}

function describeSource(t: Trigger): string {
  const s = t.ir.source;
  switch (s.kind) {
    case 'schedule': return `schedule "${s.cron}" ${s.timezone}`;
    case 'monitor': return `monitor ${s.check.kind === 'drift' ? `drift ${s.check.spec.statistic} ≥ ${s.check.spec.threshold}` : `metric ${s.check.output} ${s.direction}`} "${s.cron}" ${s.timezone}`;
    case 'upstream': return `upstream ${s.pipeline} ${s.statuses.join('/')}`;
    case 'data': return s.location.kind === 'directory' ? `data ${s.location.path}/${s.location.pattern}` : s.location.kind === 's3' ? `data s3://${s.location.bucket}/${s.location.prefix}` : `webhook ${s.location.endpoint}`;
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** Timeline rows: time, statistic, n, threshold, decision, reason. */
export function timeline(decisions: readonly Decision[]): string {
  const num = (v: JsonValue | undefined) => (typeof v === 'number' ? String(Math.round(v * 10_000) / 10_000) : '-');
  const rows = [['time', 'statistic', 'n', 'threshold', 'decision', 'reason'], ...decisions.map((d) => [
    typeof d.evidence.scheduledTime === 'string' ? iso(Date.parse(d.evidence.scheduledTime)) : iso(d.at),
    num(d.evidence.value), num(d.evidence.n), num(d.evidence.threshold), d.kind, d.reason + (d.kind === 'fire' && d.runId ? ` -> ${d.runId}` : ''),
  ])];
  return table(rows);
}

/**
 * What a trigger would have decided since `since`: its ticks (monitors measured on the data as of
 * each tick, with the reference the lineage gave then), the files that landed, the upstream runs
 * that finished. Runs started by a replayed fire are taken to finish before the next observation.
 */
export function replayTrigger(t: Trigger, store: TriggerStore | undefined, since: number, now: number, baseDir: string, o: { s3Objects?: readonly S3Object[] } = {}): { decisions: Decision[]; note?: string } {
  const ir = t.ir;
  const s = ir.source;
  let st: TriggerState = { ...initialState(), cursor: since };
  const decisions: Decision[] = [];
  const apply = (obs: Observation, at: number) => {
    const r = decide(ir, st, obs, at);
    st = r.state;
    decisions.push(...r.decisions);
    if (r.measure !== undefined && store) {
      const m = measureMonitor(ir, store, r.measure, baseDir, r.measure);
      const r2 = decide(ir, st, m.observation, at);
      st = r2.state;
      decisions.push(...r2.decisions);
    }
    for (const d of [...decisions.slice(-3)]) if (d.kind === 'fire' && d.runId && st.running.includes(d.runId)) st = decide(ir, st, { kind: 'run-finished', runId: d.runId, status: 'succeeded' }, at).state;
  };
  if (s.kind === 'schedule' || s.kind === 'monitor') {
    if (s.kind === 'monitor' && !store) return { decisions, note: 'no run store here: monitors need it for lineage' };
    for (const tick of ticksBetween(s.cron, s.timezone, since, now, 100_000).ticks) apply({ kind: 'tick' }, tick);
    return { decisions };
  }
  const events: { at: number; fields: EventFields }[] = [];
  if (s.kind === 'data' && s.location.kind === 'directory') {
    const dir = resolve(baseDir, s.location.path);
    const re = new RegExp(`^${s.location.pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    for (const name of existsSync(dir) ? readdirSync(dir).filter((n) => re.test(n)) : []) {
      const f = statSync(join(dir, name));
      if (f.isFile() && f.mtimeMs >= since) events.push({ at: f.mtimeMs, fields: { uri: pathToFileURL(join(dir, name)).href, key: name, size: f.size, etag: `${f.size}-${Math.floor(f.mtimeMs)}`, time: new Date(f.mtimeMs).toISOString() } });
    }
  } else if (s.kind === 'data' && s.location.kind === 's3' && o.s3Objects) {
    // the prefix as it is listed now: each object's current version, at its LastModified
    const l = s.location;
    for (const x of o.s3Objects) if (Date.parse(x.lastModified) >= since) events.push({ at: Date.parse(x.lastModified), fields: { uri: `s3://${l.bucket}/${x.key}`, key: x.key, size: x.size, etag: x.etag, time: x.lastModified } });
  } else if (s.kind === 'upstream' && store) {
    for (const r of store.finishedRuns(since)) events.push({ at: r.finished_at!, fields: { ...envelopeOf(r) } });
  } else return { decisions, note: s.kind === 'data' ? `${s.location.kind} sources keep no local history to replay` : 'no run store here' };
  events.sort((a, b) => a.at - b.at || String(a.fields.key ?? a.fields.runId).localeCompare(String(b.fields.key ?? b.fields.runId)));
  for (const e of events) apply({ kind: 'event', fields: e.fields }, e.at);
  return { decisions };
}

function openStoreRead(storeDir: string): TriggerStore | undefined {
  const db = join(resolve(storeDir), 'state.db');
  try { return TriggerStore.read(db); } catch { return undefined; }
}

/** Event fields from what an Argo Events source delivers as `body` (webhook JSON, a file event, an S3 notification). */
export function gateEventFields(ir: Trigger['ir'], body: { [k: string]: JsonValue }): EventFields {
  const s = ir.source;
  if (s.kind === 'data' && s.location.kind === 'directory' && typeof body.name === 'string') {
    const key = body.name.split('/').pop()!;
    return { uri: `file://${body.name}`, key, size: 0, etag: String(body.op ?? '') + ':' + key, time: new Date().toISOString() };
  }
  if (s.kind === 'data' && s.location.kind === 's3') {
    // the minio EventSource's record (notification.0); a whole notification ({Records} or {notification}) too
    const recs = (body.Records ?? body.notification) as JsonValue[] | undefined;
    const rec = (Array.isArray(recs) ? recs[0] : body) as { s3?: { object?: { key?: string; size?: number; eTag?: string } }; eventTime?: string } | undefined;
    const obj = rec?.s3?.object;
    if (obj && typeof obj.key === 'string') {
      // notification keys are URL-encoded (a space is "+")
      const key = decodeURIComponent(obj.key.replace(/\+/g, ' '));
      return { uri: `s3://${s.location.bucket}/${key}`, key, size: obj.size ?? 0, etag: normaliseEtag(obj.eTag ?? ''), time: rec?.eventTime ?? new Date().toISOString() };
    }
  }
  return body;
}

/**
 * The cluster gate step: the same engine, on the state read from the trigger's ConfigMap. Writes
 * `decision`, `run-name`, `state.json-string` (the new state as a JSON string literal, for the
 * compare-and-swap replace) and `params/<name>.json-string` into `out`.
 */
export async function runGate(ir: Trigger['ir'], stateText: string, eventText: string, out: string, now = Date.now(), o: { env?: NodeJS.ProcessEnv; fetch?: typeof fetch } = {}): Promise<Decision> {
  const state = (stateText ? JSON.parse(stateText) : initialState()) as TriggerState;
  const body = JSON.parse(eventText || '{}') as { [k: string]: JsonValue };
  let r: { state: TriggerState; decisions: readonly Decision[] };
  const s = ir.source;
  if (s.kind === 'schedule' || s.kind === 'monitor') {
    // the CronWorkflow's tick: the same engine step the daemon takes at that time
    const tick = Date.parse(String(body.scheduledTime));
    const t = decide(ir, { ...state, cursor: tick - 1 }, { kind: 'tick' }, tick);
    r = t;
    if (t.measure !== undefined) {
      const m = await measureOnCluster(ir, t.state, t.measure, o.env ?? process.env, o.fetch ? { fetch: o.fetch } : {});
      const t2 = decide(ir, t.state, m, now);
      r = { state: t2.state, decisions: [...t.decisions, ...t2.decisions] };
      const fired = t2.decisions.find((d) => d.kind === 'fire');
      if (fired && s.kind === 'monitor' && s.check.kind === 'drift' && s.check.reference.kind === 'lineage') {
        const v = fired.params?.[s.check.reference.param];
        if (typeof v === 'string') r = { ...r, state: { ...r.state, lineage: v } };
      }
    }
  } else r = decide(ir, state, { kind: 'event', fields: gateEventFields(ir, body) }, now);
  const d = r.decisions.find((x) => x.kind === 'fire') ?? r.decisions[r.decisions.length - 1] ?? { trigger: ir.name, at: now, kind: 'skip' as const, reason: 'nothing to do', evidence: {} };
  mkdirSync(join(out, 'params'), { recursive: true });
  writeFileSync(join(out, 'decision'), d.kind);
  writeFileSync(join(out, 'reason'), d.reason);
  writeFileSync(join(out, 'run-name'), d.runId ?? 'none');
  writeFileSync(join(out, 'state.json-string'), JSON.stringify(JSON.stringify(r.state)));
  for (const [k, v] of Object.entries(d.params ?? {})) {
    writeFileSync(join(out, 'params', `${k}.json-string`), JSON.stringify(typeof v === 'string' ? v : JSON.stringify(v)));
    // an artifact parameter is given to the Workflow as an S3 artifact: its bucket and key
    if (ir.target.params[k]?.kind === 'artifact' && typeof v === 'string') {
      const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(v);
      writeFileSync(join(out, 'params', `${k}.bucket`), m ? m[1]! : '');
      writeFileSync(join(out, 'params', `${k}.key`), m ? m[2]! : v);
    }
  }
  return d;
}

export function registerTriggers(program: Command, deps: CliDeps): void {
  const cmd = program.command('triggers').description('continuous training: schedules, data arrival, upstream runs, drift and metric monitors');
  // the store is found as every verb of the runner finds it (resolved before the action runs)
  const common = (c: Command) => c.option('-f, --file <file>', 'module exporting the triggers', 'triggers.ts')
    .option('--store <dir>', 'state directory (default: $SLUICE_STORE, else the nearest .sluice/ here or above)', deps.storeFlag ?? ((v: string) => v))
    .hook('preAction', (cmd) => { cmd.setOptionValue('store', deps.locateStore ? deps.locateStore(cmd.opts().store as string | undefined) : (cmd.opts().store as string | undefined) ?? '.sluice'); });
  const guard = (f: () => Promise<number> | number) => async () => {
    try {
      deps.setCode(await f());
    } catch (e) {
      if (e instanceof TriggerError || e instanceof SluiceValidationError || (e as Error).name === 'SluiceValidationError') {
        process.stderr.write(`sluice: ${e instanceof SluiceValidationError ? `${e.message.split('\n')[0]}\n${formatIssues(e.issues)}` : (e as Error).message}\n`);
        deps.setCode(2);
      } else throw e;
    }
  };

  cmd.command('compile <file>').description('write the Argo objects of the triggers in <file>: CronWorkflows, EventSources, Sensors, gate WorkflowTemplates, ConfigMaps, EventBus, RBAC')
    .option('-o, --output <file>', 'write the YAML here (default: stdout); nothing is written when there is a problem')
    .option('-n, --namespace <ns>', 'namespace of every object', 'default')
    .requiredOption('--image <image>', 'image with the sluice command, for the gate step')
    .option('--pipeline-image <image>', "image of the pipelines' function steps (overrides their image option)")
    .option('--upstream <file>', 'a pipeline file whose runs upstream triggers wait for (repeatable; its default export)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--prometheus <url>', 'Prometheus that metric monitors query (e.g. http://prometheus.monitoring.svc:9090)')
    .option('--s3-endpoint <url>', 'S3 store of drift monitors and artifact parameters (http://host:port)')
    .option('--s3-bucket <name>', 'its bucket')
    .option('--s3-prefix <prefix>', 'key prefix (data under <prefix>data/, reports under <prefix>triggers/)', 'sluice/')
    .option('--s3-secret <name>', 'Secret with its keys (accesskey, secretkey)', 'sluice-s3')
    .action(async (file: string, o: { output?: string; namespace: string; image: string; pipelineImage?: string; upstream: string[]; prometheus?: string; s3Endpoint?: string; s3Bucket?: string; s3Prefix: string; s3Secret: string }) => guard(async () => {
      if ((o.s3Endpoint === undefined) !== (o.s3Bucket === undefined)) throw new TriggerError('cli.s3', '--s3-endpoint and --s3-bucket go together');
      if (o.output !== undefined) checkOutput(o.output);
      const ts = await loadTriggers(file);
      const upstream = [];
      for (const u of o.upstream) {
        const kind = pathKind(u);
        if (kind === 'missing') throw new TriggerError('file.missing', `--upstream ${u}: no such file`);
        if (kind !== 'file') throw new TriggerError('file.kind', `--upstream ${u}: ${NOT_A_FILE[kind]}`);
        const { importModuleFile } = await import('@sluice/executor');
        const mod = (await importModuleFile(resolve(u))) as { default?: unknown };
        if (!isPipeline(mod.default)) throw new TriggerError('upstream.export', `--upstream ${u}: its default export is not a pipeline`);
        upstream.push({ pipeline: mod.default, entry: u });
      }
      const s3 = o.s3Endpoint && o.s3Bucket ? { endpoint: o.s3Endpoint, bucket: o.s3Bucket, prefix: o.s3Prefix, secret: o.s3Secret } : undefined;
      const { compileTriggers } = await import('./argo/compile.ts');
      const r = compileTriggers(ts, { namespace: o.namespace, image: o.image, ...(o.pipelineImage ? { pipelineImage: o.pipelineImage } : {}), upstream, ...(o.prometheus ? { prometheus: o.prometheus } : {}), ...(s3 ? { s3 } : {}) });
      if (r.issues.length) throw new SluiceValidationError([...r.issues], `triggers in ${file}`);
      if (o.output === undefined) process.stdout.write(r.yaml);
      else {
        const { writeOutputFile } = await import('@sluice/compiler/output');
        try {
          writeOutputFile(o.output, r.yaml);
        } catch (e) {
          process.stderr.write(`sluice: cannot write ${o.output}: ${(e as Error).message}\n`);
          return 1;
        }
        process.stderr.write(`wrote ${r.objects.length} objects to ${o.output}\n`);
      }
      return 0;
    })());

  cmd.command('gate').description('the cluster gate step (inside the gate WorkflowTemplate): state and event from SLUICE_GATE_STATE / SLUICE_GATE_EVENT')
    .requiredOption('--ir <file>', 'the trigger IR (JSON)').requiredOption('--out <dir>', 'where the outputs go')
    .action(async (o: { ir: string; out: string }) => guard(async () => {
      const d = await runGate(JSON.parse(readFileSync(o.ir, 'utf8')) as Trigger['ir'], process.env.SLUICE_GATE_STATE ?? '', process.env.SLUICE_GATE_EVENT ?? '{}', o.out);
      process.stdout.write(`${d.kind}: ${d.reason}${d.runId ? ` -> ${d.runId}` : ''}\n`);
      return 0;
    })());

  common(cmd.command('serve').description('run the trigger daemon until stopped (SIGINT/SIGTERM)'))
    .option('--tick <ms>', 'how often triggers are evaluated', '1000')
    .option('--port <n>', 'webhook port on 127.0.0.1 (0: any)', '0')
    .option('--until-idle', 'stop once no run is active after a pass (tests, one-shot use)')
    .option('--for <duration>', 'stop after this long (e.g. 30s)')
    .action(async (o: { file: string; store: string; tick: string; port: string; untilIdle?: boolean; for?: string }) => guard(async () => {
      // checked before anything starts: NaN would make the daemon's loop spin, a bad --for stop it at once
      const tickMs = Number(o.tick);
      if (!/^\d+$/.test(o.tick) || tickMs < 10) throw new TriggerError('cli.tick', `--tick expects whole milliseconds, at least 10, got "${o.tick}"`);
      const port = Number(o.port);
      if (!/^\d+$/.test(o.port) || port > 65535) throw new TriggerError('cli.port', `--port expects a port number (0 for any free port), got "${o.port}"`);
      const forMs = o.for === undefined ? undefined : durationMs(o.for);
      if (o.for !== undefined && (forMs === undefined || forMs <= 0)) throw new TriggerError('cli.for', `--for expects a duration such as 30s or 10m, got "${o.for}"`);
      const ts = await loadTriggers(o.file);
      const d = new Daemon(ts, deps, { storeDir: o.store, tickMs, port, log: (l) => process.stdout.write(`${l}\n`) });
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      const limit = forMs !== undefined ? setTimeout(stop, forMs) : undefined;
      try {
        await d.start();
        process.stdout.write(`serving ${ts.length} trigger${ts.length === 1 ? '' : 's'} from ${o.file} (store ${o.store}, tick ${o.tick} ms)\n`);
        await d.serve(ac.signal, o.untilIdle ? { untilIdle: true } : {});
      } finally {
        if (limit) clearTimeout(limit);
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await d.close({ abortRuns: ac.signal.aborted && !o.untilIdle });
      }
      return 0;
    })());

  common(cmd.command('list').description('the triggers, their sources and state')).action(async (o: { file: string; store: string }) => guard(async () => {
    const ts = await loadTriggers(o.file);
    const store = openStoreRead(o.store);
    try {
      const rows = [['trigger', 'source', 'target', 'fires', 'last decision']];
      for (const t of ts) {
        const last = store?.decisions(t.ir.name, 1)[0];
        rows.push([t.ir.name, describeSource(t), t.ir.target.pipeline, String(store?.fires(t.ir.name).length ?? 0), last ? `${iso(last.at)} ${last.kind}: ${last.reason}` : '-']);
      }
      process.stdout.write(table(rows));
    } finally { store?.close(); }
    return 0;
  })());

  common(cmd.command('test <trigger>').description('filter -> mapping -> policy on one event, against the stored state; nothing is started'))
    .requiredOption('--event <file>', 'JSON file with the event\'s fields')
    .action(async (name: string, o: { file: string; store: string; event: string }) => guard(async () => {
      const t = pick(await loadTriggers(o.file), name);
      let fields: EventFields;
      try { fields = JSON.parse(readFileSync(o.event, 'utf8')) as EventFields; } catch (e) { throw new TriggerError('event.invalid', `${o.event}: ${(e as Error).message}`); }
      const store = openStoreRead(o.store);
      const state = store ? store.loadState(name) : initialState();
      store?.close();
      const { decision } = considerEvent(t.ir, state, fields, Date.now());
      process.stdout.write(`${decision.kind}: ${decision.reason}\n`);
      if (decision.dedupeKey) process.stdout.write(`dedupe key: ${decision.dedupeKey}\nrun: ${decision.runId}\n`);
      if (decision.params) process.stdout.write(`params: ${JSON.stringify(decision.params)}\n`);
      return decision.kind === 'fire' ? 0 : 1;
    })());

  common(cmd.command('explain <trigger>').description("the last decision's evidence")).action(async (name: string, o: { file: string; store: string }) => guard(async () => {
    pick(await loadTriggers(o.file), name);
    const store = openStoreRead(o.store);
    if (!store) throw new TriggerError('store.none', `no trigger state in ${o.store}: the daemon has not run here`);
    try {
      const d = store.decisions(name, 1)[0];
      if (!d) { process.stdout.write(`${name}: no decisions yet\n`); return 0; }
      process.stdout.write(`${name} at ${iso(d.at)}: ${d.kind}: ${d.reason}\n`);
      if (d.run_id) process.stdout.write(`run: ${d.run_id}${d.dedupe_key ? ` (dedupe key ${d.dedupe_key})` : ''}\n`);
      for (const a of d.run_id ? store.reports(d.run_id) : []) process.stdout.write(`${a.name}: ${a.path} (${a.media_type}, ${a.bytes} bytes, sha256:${a.sha256.slice(0, 16)})\n`);
      if (d.event) process.stdout.write(`event: ${d.event}\n`);
      process.stdout.write(`evidence:\n${JSON.stringify(JSON.parse(d.evidence), null, 2)}\n`);
      const st = store.loadState(name);
      process.stdout.write(`state: armed=${st.armed} streak=${st.streak} running=${st.running.join(',') || '-'} queued=${st.queue.length} last fire=${st.lastFireAt ? iso(st.lastFireAt) : '-'}\n`);
    } finally { store.close(); }
    return 0;
  })());

  common(cmd.command('replay <trigger>').description('when the trigger would have fired, and why not otherwise; --apply starts those runs (dedupe keys make it safe to repeat)'))
    .option('--since <duration>', 'how far back', '30d')
    .option('--apply', 'reserve and run the fires (a backfill)')
    .action(async (name: string, o: { file: string; store: string; since: string; apply?: boolean }) => guard(async () => {
      const t = pick(await loadTriggers(o.file), name);
      const back = durationMs(o.since);
      if (back === undefined) throw new TriggerError('cli.since', `--since expects a duration such as 30d or 12h, got "${o.since}"`);
      const now = Date.now();
      const store = openStoreRead(o.store);
      let r;
      const loc = t.ir.source.kind === 'data' && t.ir.source.location.kind === 's3' ? t.ir.source.location : undefined;
      const s3Objects = loc ? await listPrefix(await s3Client(loc), loc.bucket, loc.prefix) : undefined;
      try { r = replayTrigger(t, store, now - back, now, process.cwd(), s3Objects ? { s3Objects } : {}); } finally { store?.close(); }
      if (s3Objects) process.stdout.write(`replaying the objects now under s3://${loc!.bucket}/${loc!.prefix} (an overwritten object's earlier versions are not listed)\n`);
      if (r.note) process.stdout.write(`${r.note}\n`);
      process.stdout.write(timeline(r.decisions));
      const fires = r.decisions.filter((d) => d.kind === 'fire');
      process.stdout.write(`${fires.length} fire${fires.length === 1 ? '' : 's'}, ${r.decisions.filter((d) => d.kind === 'suppress').length} suppressed, ${r.decisions.filter((d) => d.kind === 'skip').length} skipped since ${iso(now - back)}\n`);
      if (o.apply && fires.length) {
        const d = new Daemon([t], deps, { storeDir: o.store });
        await d.start();
        try {
          const reserved = d.backfill(t, fires);
          process.stdout.write(`backfill: ${reserved.length} new run${reserved.length === 1 ? '' : 's'} (${fires.length - reserved.length} already reserved)\n`);
          await d.drain();
        } finally { await d.close(); }
      }
      return 0;
    })());
}
