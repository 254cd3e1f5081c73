/**
 * `sluice metrics`, `compare`, `models`, `cat`, `tracking`: what steps logged and the model
 * registry, as tables (and `--json`). Reads the embedded store; the registry is MLflow's when a
 * tracking URI is set.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { openEmbeddedRegistry, openRegistry, openTrackingStore, type ModelVersion, type Registry } from '@sluice/tracking';
import { RunnerError } from '../errors.ts';
import { storePaths } from '../run.ts';
import { type RunRow, StateStore } from '../store/state.ts';
import { flushPending, runInfo } from '../tracking.ts';
import { findRunRow } from '../query/runs.ts';
import { ArtifactStore } from '../store/cas.ts';

const BARS = '▁▂▃▄▅▆▇█';
/** A one-line chart of a series (at most `width` points, resampled by taking the last of each bucket). */
export function sparkline(values: readonly number[], width = 24): string {
  if (values.length < 2) return '';
  const pts = values.length <= width ? values : Array.from({ length: width }, (_, i) => values[Math.min(values.length - 1, Math.floor(((i + 1) * values.length) / width) - 1)] as number);
  const lo = Math.min(...pts);
  const hi = Math.max(...pts);
  return pts.map((v) => BARS[hi === lo ? 3 : Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1))]).join('');
}

function table(rows: string[][]): string {
  const w = rows[0]?.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat((w[i] as number) - [...c].length))).join('  ')).join('\n') + '\n';
}
const num = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? String(Number(v.toPrecision(6))) : v.toExponential(4));
const out = (s: string) => process.stdout.write(s);

function openState(store: string): StateStore {
  return StateStore.open(storePaths(store).db, { readonly: true });
}

interface MetricSummary { task: string; name: string; last: number; min: number; max: number; steps: number; values: number[] }
async function summaries(store: string, runId: string, task?: string): Promise<MetricSummary[]> {
  const t = await openTrackingStore(storePaths(store).root, { readonly: true }).catch(() => undefined);
  if (!t) return [];
  try {
    const by = new Map<string, MetricSummary>();
    for (const m of t.metrics(runId, task)) {
      const k = `${m.taskKey}\0${m.name}`;
      let s = by.get(k);
      if (!s) by.set(k, (s = { task: m.taskKey, name: m.name, last: m.value, min: m.value, max: m.value, steps: 0, values: [] }));
      s.values.push(m.value);
      s.last = m.value;
      s.min = Math.min(s.min, m.value);
      s.max = Math.max(s.max, m.value);
      s.steps++;
    }
    return [...by.values()];
  } finally {
    t.close();
  }
}

export async function metricsCommand(id: string, o: { store: string; task?: string; json?: boolean }): Promise<number> {
  const s = openState(o.store);
  let run: RunRow;
  try {
    run = findRunRow(s, id);
  } finally {
    s.close();
  }
  const ms = await summaries(o.store, run.id, o.task);
  if (o.json) {
    out(JSON.stringify({ run: run.id, metrics: ms.map(({ values, ...m }) => ({ ...m, values })) }, null, 2) + '\n');
    return 0;
  }
  if (!ms.length) {
    out(`run ${run.id} logged no metrics${o.task ? ` in task ${o.task}` : ''} (steps log them with ctx.log.metric(name, value))\n`);
    return 0;
  }
  out(table([['TASK', 'METRIC', 'LAST', 'MIN', 'MAX', 'STEPS', ''], ...ms.map((m) => [m.task, m.name, num(m.last), num(m.min), num(m.max), String(m.steps), sparkline(m.values)])]));
  return 0;
}

interface Side { id: string; pipeline: string; commit: string; params: Record<string, string>; metrics: Record<string, string>; data: Record<string, string> }
export async function compareCommand(ids: readonly string[], o: { store: string; json?: boolean }): Promise<number> {
  if (ids.length < 2) throw new RunnerError('cli.usage', 'sluice compare needs at least two runs');
  const s = openState(o.store);
  const sides: Side[] = [];
  try {
    for (const id of ids) {
      // (an id, a unique prefix, or latest / latest:<pipeline>, as `sluice show` takes them)
      const info = runInfo(s, findRunRow(s, id).id);
      const metrics: Record<string, string> = {};
      for (const m of await summaries(o.store, info.runId)) metrics[`${m.task}/${m.name}`] = num(m.last);
      const params = Object.fromEntries(Object.entries(info.params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
      const data: Record<string, string> = {};
      for (const t of info.tasks) for (const a of t.artifacts ?? []) data[`${t.key}/${a.output}`] = a.hash.replace(/^sha256:/, '').slice(0, 12);
      sides.push({ id: info.runId, pipeline: info.pipeline, commit: `${info.gitCommit?.slice(0, 12) ?? '-'}${info.gitDirty ? ' (dirty)' : ''}`, params, metrics, data });
    }
  } finally {
    s.close();
  }
  const sections = (['params', 'metrics', 'data'] as const).map((k) => {
    const keys = [...new Set(sides.flatMap((x) => Object.keys(x[k])))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    return { section: k, rows: keys.map((key) => ({ key, values: sides.map((x) => x[k][key] ?? null), differs: new Set(sides.map((x) => x[k][key] ?? null)).size > 1 })) };
  });
  const commitDiffers = new Set(sides.map((x) => x.commit)).size > 1;
  if (o.json) {
    out(JSON.stringify({ runs: sides.map((x) => ({ id: x.id, pipeline: x.pipeline, commit: x.commit })), commit: { values: sides.map((x) => x.commit), differs: commitDiffers }, ...Object.fromEntries(sections.map((x) => [x.section, x.rows])) }, null, 2) + '\n');
    return 0;
  }
  const rows: string[][] = [['', ...sides.map((x) => x.id)], [commitDiffers ? '* code commit' : '  code commit', ...sides.map((x) => x.commit)]];
  for (const sec of sections) {
    if (!sec.rows.length) continue;
    rows.push([sec.section === 'data' ? 'artifacts (content hash)' : sec.section, ...sides.map(() => '')]);
    for (const r of sec.rows) rows.push([`${r.differs ? '*' : ' '} ${r.key}`, ...r.values.map((v) => v ?? '-')]);
  }
  out(table(rows));
  out('* differs\n');
  return 0;
}

async function registryFor(store: string, readonly: boolean): Promise<Registry> {
  if (process.env.SLUICE_TRACKING_URI || process.env.MLFLOW_TRACKING_URI) return openRegistry(process.env);
  // the embedded registry lives in the store: none is made where nothing has run
  const { root, db } = storePaths(store);
  if (!existsSync(db)) throw new RunnerError('store.missing', `no Sluice state at ${db}: nothing has run here yet`);
  return openEmbeddedRegistry(root, { readonly });
}
const versionLine = (v: ModelVersion) => [String(v.version), v.aliases.join(',') || '-', Object.entries(v.metrics).map(([k, x]) => `${k}=${num(x)}`).join(' ') || '-', `${v.runId}/${v.taskKey}`, v.artifactHash.replace(/^sha256:/, '').slice(0, 12), v.gitCommit?.slice(0, 12) ?? '-', new Date(v.createdAt).toISOString().slice(0, 19).replace('T', ' ')];

export async function modelsCommand(action: string, args: readonly string[], o: { store: string; alias?: string; json?: boolean }): Promise<number> {
  const r = await registryFor(o.store, action === 'list' || action === 'show');
  try {
    const name = args[0];
    const need = (what: string) => {
      throw new RunnerError('cli.usage', `sluice models ${action} needs ${what}`);
    };
    switch (action) {
      case 'list': {
        const ms = await r.list();
        if (o.json) out(JSON.stringify(ms, null, 2) + '\n');
        else if (!ms.length) out('no registered models (a pipeline registers them with promote(...) or ctx.models)\n');
        else out(table([['MODEL', 'VERSIONS', 'ALIASES'], ...ms.map((m) => [m.name, String(m.versions), m.aliases.map((a) => `${a.alias}=v${a.version}`).join(' ') || '-'])]));
        return 0;
      }
      case 'show': {
        if (!name) need('a model name');
        const vs = await r.versions(name as string);
        if (!vs.length) throw new RunnerError('registry.unknown', `no registered model "${name}"`);
        const decisions = r.kind === 'embedded' ? (await openTrackingStore(storePaths(o.store).root, { readonly: true }).then((t) => { try { return t.decisions(name as string); } finally { t.close(); } })) : [];
        if (o.json) {
          out(JSON.stringify({ name, versions: vs, decisions }, null, 2) + '\n');
          return 0;
        }
        out(`model ${name}\n`);
        out(table([['VERSION', 'ALIASES', 'METRICS', 'SOURCE (run/task)', 'ARTIFACT', 'COMMIT', 'CREATED'], ...vs.map(versionLine)]));
        if (decisions.length) {
          out('\ndecisions\n');
          out(table([['WHEN', 'ALIAS', 'CHALLENGER', 'HOLDER', 'DECISION', 'WHY'], ...decisions.map((d) => [new Date(d.at).toISOString().slice(0, 19).replace('T', ' '), d.alias, `v${d.challenger}`, d.holder === null ? '-' : `v${d.holder}`, d.passed ? 'promoted' : 'refused', d.reasons.join('; ')])]));
        }
        return 0;
      }
      case 'promote': {
        const version = Number(args[1]);
        if (!name || !Number.isInteger(version) || version < 1) need('a model name and a version number (sluice models promote iris 3 --alias champion)');
        await r.setAlias(name as string, o.alias ?? 'champion', version);
        out(o.json ? JSON.stringify({ name, alias: o.alias ?? 'champion', version }) + '\n' : `${name}: "${o.alias ?? 'champion'}" now points at version ${version} (set by hand, without a gate)\n`);
        return 0;
      }
      case 'rollback': {
        if (!name) need('a model name');
        const res = await r.rollback(name as string, o.alias ?? 'champion');
        out(o.json ? JSON.stringify({ name, alias: o.alias ?? 'champion', ...res }) + '\n' : `${name}: "${o.alias ?? 'champion'}" rolled back from version ${res.from} to version ${res.to}\n`);
        return 0;
      }
      default:
        throw new RunnerError('cli.usage', `unknown action "${action}" (expected list, show, promote or rollback)`);
    }
  } finally {
    r.close();
  }
}

/** `sluice cat <run>/<task>/<output>` or `sluice cat <hash prefix>`: a text artifact's content. */
export function catCommand(ref: string, o: { store: string }): number {
  const s = openState(o.store);
  try {
    const parts = ref.split('/');
    let hash: string | undefined;
    if (parts.length >= 3) {
      const run = findRunRow(s, parts[0] as string);
      const output = parts.at(-1) as string;
      const task = parts.slice(1, -1).join('/');
      const a = s.artifactsOfRun(run.id).find((x) => x.task_key === task && x.output === output);
      if (!a) throw new RunnerError('artifact.unknown', `run ${run.id} has no artifact ${task}/${output}`);
      hash = a.hash;
    } else {
      const rows = s.artifactsByHash(ref.replace(/^sha256:/, ''));
      const hashes = [...new Set(rows.map((r) => r.hash))];
      if (hashes.length !== 1) throw new RunnerError('artifact.unknown', hashes.length ? `"${ref}" matches ${hashes.length} artifacts; give more of the hash` : `no artifact "${ref}" (give <run>/<task>/<output> or a content-hash prefix)`);
      hash = hashes[0];
    }
    const path = `${storePaths(o.store).artifacts}/sha256/${(hash as string).slice(0, 2)}/${hash}`;
    const st = statSync(path);
    if (st.isDirectory()) throw new RunnerError('artifact.kind', `artifact ${ref} is a directory (${path})`);
    const buf = readFileSync(path);
    if (buf.subarray(0, 8192).includes(0)) throw new RunnerError('artifact.binary', `artifact ${ref} is binary (${st.size} bytes at ${path}); sluice cat prints text only`);
    out(buf.toString('utf8'));
    return 0;
  } finally {
    s.close();
  }
}

export async function trackingCommand(action: string, o: { store: string; json?: boolean }): Promise<number> {
  const s = StateStore.open(storePaths(o.store).db, { readonly: true });
  try {
    if (action === 'flush') {
      const r = await flushPending(storePaths(o.store).root, s, (h) => new ArtifactStore(storePaths(o.store).artifacts).pathOf(h));
      out(o.json ? JSON.stringify(r) + '\n' : `${r.sent.length} run(s) sent${r.left.length ? `, ${r.left.length} still pending:\n${r.left.map((l) => `  ${l.runId}: ${l.error}`).join('\n')}` : ''}\n`);
      return r.left.length ? 1 : 0;
    }
    if (action === 'status') {
      const t = await openTrackingStore(storePaths(o.store).root, { readonly: true });
      try {
        const p = t.pending();
        out(o.json ? JSON.stringify(p) + '\n' : p.length ? table([['RUN', 'SERVER', 'SINCE', 'LAST ERROR'], ...p.map((x) => [x.runId, x.uri, new Date(x.since).toISOString(), x.lastError])]) : 'nothing pending\n');
      } finally {
        t.close();
      }
      return 0;
    }
    throw new RunnerError('cli.usage', `unknown action "${action}" (expected flush or status)`);
  } finally {
    s.close();
  }
}
