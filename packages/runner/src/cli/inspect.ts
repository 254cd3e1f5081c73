import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { keyDir } from '../engine/engine.ts';
import { RunnerError } from '../errors.ts';
import { storePaths } from '../run.ts';
import { type ArtifactRow, StateStore, type TaskRow } from '../store/state.ts';
import { formatMs } from '../util/duration.ts';
import type { RuntimeValue } from '../engine/types.ts';
import { formatOutputs } from './outputs.ts';

function open(store: string): StateStore {
  return StateStore.open(storePaths(store).db, { readonly: true });
}

function table(rows: string[][]): string {
  const w = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] as number))).join('  ')).join('\n') + '\n';
}

const when = (ms: number | null) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-');

export function runsCommand(o: { store: string; limit: string; json?: boolean }): number {
  const s = open(o.store);
  try {
    const runs = s.listRuns(Number(o.limit));
    if (o.json) {
      process.stdout.write(JSON.stringify(runs.map(({ ir: _ir, ...r }) => r), null, 2) + '\n');
      return 0;
    }
    const rows = [['RUN', 'PIPELINE', 'STATUS', 'STARTED', 'DURATION', 'TASKS']];
    for (const r of runs) {
      const tasks = s.tasksOfRun(r.id).filter((t) => t.component);
      const done = tasks.filter((t) => t.state === 'succeeded' || t.state === 'cached').length;
      rows.push([r.id, r.pipeline, s.driverGone(r.id) ? 'running (driver gone)' : r.status, when(r.created_at), formatMs((r.finished_at ?? Date.now()) - r.created_at), `${done}/${tasks.length} done`]);
    }
    process.stdout.write(table(rows));
    return 0;
  } finally {
    s.close();
  }
}

export function showCommand(id: string, o: { store: string; json?: boolean }): number {
  const s = open(o.store);
  try {
    const run = s.findRun(id);
    const tasks = s.tasksOfRun(run.id);
    const attempts = s.attemptsOfRun(run.id);
    const artifacts = s.artifactsOfRun(run.id);
    const lease = s.getLease(run.id);
    const locks = s.locksOfRun(run.id);
    if (o.json) {
      const { ir: _ir, ...r } = run;
      const misses = Object.fromEntries(s.cacheMisses(run));
      process.stdout.write(JSON.stringify({ run: { ...r, params: JSON.parse(r.params), outputs: r.outputs ? JSON.parse(r.outputs) : null }, tasks: tasks.map((t) => ({ ...t, cache_miss: misses[t.key] ?? null })), attempts, artifacts, lease: lease ?? null, locks }, null, 2) + '\n');
      return 0;
    }
    const out: string[] = [];
    out.push(`run       ${run.id}`);
    out.push(`pipeline  ${run.pipeline} (IR ${run.ir_hash})${run.entry ? ` from ${run.entry}${run.export_name ? `#${run.export_name}` : ''}` : ''}`);
    const gone = s.driverGone(run.id);
    out.push(`status    ${run.status}${gone ? ` — its driver is gone${lease ? ` (pid ${lease.pid} on ${lease.host})` : ''}: nothing runs it; \`sluice resume ${run.id}\` continues it` : lease && run.status === 'running' ? ` (driven by pid ${lease.pid} on ${lease.host})` : ''}`);
    if (locks.length) out.push(`holds     ${locks.map((l) => `${l.kind} ${l.name}${l.task_key ? ` (task ${l.task_key})` : ' (the run)'}`).join(', ')}`);
    out.push(`started   ${when(run.created_at)}   finished ${when(run.finished_at)}   mode ${run.mode}`);
    out.push(`git       ${run.git_commit ? `${run.git_commit.slice(0, 12)}${run.git_dirty ? ' (dirty tree)' : ' (clean)'}` : 'not a git checkout'}`);
    out.push(`params    ${run.params}`);
    if (run.error) out.push(`error     ${run.error.split('\n').join('\n          ')}`);
    process.stdout.write(out.join('\n') + '\n\n');
    const misses = s.cacheMisses(run);
    const rows = [['TASK', 'STATE', 'ATTEMPTS', 'DURATION', 'CACHE']];
    for (const t of tasks) {
      if (!t.component && (t.state === 'succeeded' || t.state === 'skipped')) continue; // conditions and loops
      const cache = t.state === 'cached' ? `hit (from ${t.cached_from})` : misses.has(t.key) ? `miss: ${misses.get(t.key)}` : t.component && !t.cache_parts ? 'off' : '';
      rows.push([t.key, t.state, String(t.attempts), t.started_at && t.finished_at ? formatMs(t.finished_at - t.started_at) : '-', cache]);
    }
    process.stdout.write(table(rows));
    const failed = attempts.filter((a) => a.outcome !== 'succeeded');
    if (failed.length) {
      process.stdout.write('\nattempts that did not succeed:\n');
      for (const a of failed) process.stdout.write(`  ${a.key} #${a.n}: ${a.outcome}${a.exit_code !== null ? ` (exit ${a.exit_code})` : ''}${a.signal ? ` (${a.signal})` : ''}${a.message ? ` — ${a.message.split('\n')[0]}` : ''}\n`);
    }
    const errs = tasks.filter((t) => t.state === 'failed' && t.error && t.component);
    if (errs.length) {
      process.stdout.write('\nfailures:\n');
      for (const t of errs) process.stdout.write(`  ${t.key}: ${t.error}\n`);
    }
    if (artifacts.length) {
      process.stdout.write('\nartifacts (lineage):\n');
      const arows = [['PRODUCED BY', 'TYPE', 'SIZE', 'SHA256']];
      for (const a of artifacts) arows.push([`${a.task_key}.${a.output}`, a.type, String(a.size), a.hash]);
      process.stdout.write(table(arows).replace(/^/gm, '  '));
      const inputs = tasks.flatMap((t) => inputArtifacts(t).map((i) => [`${t.key}.${i.name}`, i.hash]));
      if (inputs.length) {
        process.stdout.write('\ninput artifacts:\n');
        process.stdout.write(table([['CONSUMED BY', 'SHA256'], ...inputs]).replace(/^/gm, '  '));
      }
    }
    if (run.outputs && run.outputs !== '{}') process.stdout.write(`\n${formatOutputs(JSON.parse(run.outputs) as { [name: string]: RuntimeValue }, storePaths(o.store).artifacts)}`);
    return 0;
  } finally {
    s.close();
  }
}

function inputArtifacts(t: TaskRow): { name: string; hash: string }[] {
  if (!t.inputs) return [];
  const inputs = JSON.parse(t.inputs) as Record<string, unknown>;
  const out: { name: string; hash: string }[] = [];
  for (const [name, v] of Object.entries(inputs)) {
    for (const a of Array.isArray(v) ? v : [v]) {
      if (a && typeof a === 'object' && (a as { kind?: string }).kind === 'artifact') out.push({ name, hash: (a as { hash: string }).hash });
    }
  }
  return out;
}

export async function logsCommand(id: string, task: string | undefined, o: { store: string; follow?: boolean }): Promise<number> {
  const s = open(o.store);
  const paths = storePaths(o.store);
  try {
    const run = s.findRun(id);
    const dir = join(paths.runs, run.id, 'logs');
    if (task && !s.getTask(run.id, task)) throw new RunnerError('task.unknown', `run ${run.id} has no task "${task}" (keys look like train or each[2]/train; see sluice show ${run.id})`);
    const offsets = new Map<string, number>();
    const pump = () => {
      if (!existsSync(dir)) return;
      const files = task ? [`${keyDir(task)}.log`] : readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
      for (const f of files) {
        const p = join(dir, f);
        if (!existsSync(p)) continue;
        const size = statSync(p).size;
        const from = offsets.get(f) ?? 0;
        if (size <= from) continue;
        const text = readFileSync(p).subarray(from, size).toString('utf8');
        offsets.set(f, size);
        const name = basename(f, '.log').replace(/~/g, '/');
        process.stdout.write(task ? text : text.replace(/^(?=.)/gm, `${name} | `));
      }
    };
    pump();
    if (o.follow) {
      for (;;) {
        const st = s.getRun(run.id)?.status;
        await new Promise((r) => setTimeout(r, 500));
        pump();
        if (st !== 'running') break;
        if (s.driverGone(run.id)) {
          pump();
          process.stderr.write(`sluice: run ${run.id} is not running any more: its driver is gone (\`sluice resume ${run.id}\` continues it)\n`);
          return 1;
        }
      }
    }
    return 0;
  } finally {
    s.close();
  }
}

export function lineageCommand(artifact: string, o: { store: string; json?: boolean }): number {
  const s = open(o.store);
  try {
    const hash = /^[0-9a-f]{6,64}$/.test(artifact) ? artifact : existsSync(artifact) ? basename(artifact) : artifact;
    const found = s.artifactsByHash(hash);
    if (!found.length) throw new RunnerError('artifact.unknown', `no artifact ${artifact} in ${storePaths(o.store).db}: give a sha256 (prefix) or a path in the artifact store`);
    const full = new Set(found.map((a) => a.hash));
    if (full.size > 1) throw new RunnerError('artifact.ambiguous', `${artifact} matches several artifacts; give more of the hash`);
    interface Node { hash: string; producedBy: { run: string; task: string; output: string; type: string; git: string | null; params: unknown } | null; inputs: { name: string; node: Node }[]; params: Record<string, unknown> }
    const seen = new Set<string>();
    const walk = (h: string): Node => {
      const prod: ArtifactRow | undefined = s.artifactsByHash(h).find((a) => s.getTask(a.run_id, a.task_key)?.state === 'succeeded') ?? s.artifactsByHash(h)[0];
      if (!prod || seen.has(h)) return { hash: h, producedBy: null, inputs: [], params: {} };
      seen.add(h);
      const t = s.getTask(prod.run_id, prod.task_key);
      const run = s.getRun(prod.run_id);
      const inputs = JSON.parse(t?.inputs ?? '{}') as Record<string, unknown>;
      const params: Record<string, unknown> = {};
      const arts: { name: string; node: Node }[] = [];
      for (const [name, v] of Object.entries(inputs)) {
        const list = Array.isArray(v) && v.every((x) => x && typeof x === 'object' && (x as { kind?: string }).kind === 'artifact') && v.length ? v : [v];
        let isArt = false;
        for (const a of list) {
          if (a && typeof a === 'object' && (a as { kind?: string }).kind === 'artifact') {
            isArt = true;
            arts.push({ name, node: walk((a as { hash: string }).hash) });
          }
        }
        if (!isArt) params[name] = v;
      }
      return { hash: h, producedBy: { run: prod.run_id, task: prod.task_key, output: prod.output, type: prod.type, git: run?.git_commit ? `${run.git_commit.slice(0, 12)}${run.git_dirty ? '+dirty' : ''}` : null, params: run ? JSON.parse(run.params) : null }, inputs: arts, params };
    };
    const root = walk([...full][0] as string);
    if (o.json) {
      process.stdout.write(JSON.stringify(root, null, 2) + '\n');
      return 0;
    }
    const print = (n: Node, indent: string, label: string) => {
      const p = n.producedBy;
      process.stdout.write(`${indent}${label}${n.hash.slice(0, 16)}  ${p ? `${p.type} from ${p.task}.${p.output} in run ${p.run}${p.git ? ` (git ${p.git})` : ''}` : 'pipeline input or unknown producer'}\n`);
      if (Object.keys(n.params).length) process.stdout.write(`${indent}    with ${JSON.stringify(n.params)}\n`);
      for (const i of n.inputs) print(i.node, indent + '    ', `${i.name} ← `);
    };
    print(root, '', '');
    return 0;
  } finally {
    s.close();
  }
}
