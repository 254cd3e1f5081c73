/**
 * The read side of the CLI: `runs`, `show`, `logs`, `lineage`, plus `stop` and `retry`. Each asks
 * a {@link RunBackend} for plain data (`backend/views.ts`) and prints it; `--json` prints the
 * same data as JSON. Nothing here reads the store itself.
 */
import { Option, type Command } from 'commander';
import type { RunBackend } from '../backend/backend.ts';
import type { LineageView, LogEntry, RunStatusView, RunSummaryView, RunView, TaskView } from '../backend/views.ts';
import { LocalBackend } from '../backend/local.ts';
import { locateStore } from '../backend/location.ts';
import { formatMs } from '../util/duration.ts';
import type { RuntimeValue } from '../engine/types.ts';
import { formatOutputs } from './outputs.ts';
import { integerFlag, storeFlag } from './flags.ts';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RunnerError } from '../errors.ts';

type Out = (text: string) => void;
const stdout: Out = (t) => void process.stdout.write(t);

function table(rows: string[][]): string {
  const w = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] as number))).join('  ')).join('\n') + '\n';
}

const when = (t: string | null) => (t ? t.replace('T', ' ').slice(0, 19) : '-');
const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

function statusText(r: RunSummaryView): string {
  return r.orphaned ? 'running (driver gone)' : r.status;
}

/** `sluice runs`: one line per run. */
export function printRuns(runs: readonly RunSummaryView[], o: { json?: boolean | undefined }, out: Out = stdout): void {
  if (o.json) return out(json(runs));
  if (!runs.length) return out('no runs\n');
  const rows = [['RUN', 'PIPELINE', 'STATUS', 'STARTED', 'DURATION', 'TASKS']];
  for (const r of runs) rows.push([r.id, r.pipeline, statusText(r), when(r.createdAt), formatMs(r.durationMs), r.progress]);
  out(table(rows));
}

function cacheText(t: TaskView): string {
  switch (t.cache.status) {
    case 'hit': return `hit (from ${t.cache.from})`;
    case 'miss': return `miss: ${t.cache.reason}`;
    case 'off': return 'off';
    case 'none': return '';
  }
}

/** `sluice show`: a run, its tasks in DAG order, attempts that did not succeed, failures, artifacts with their consumers, outputs. */
export function printRun(run: RunView, o: { json?: boolean | undefined; artifactsRoot?: string }, out: Out = stdout): void {
  if (o.json) return out(json(run));
  const lines: string[] = [];
  lines.push(`run       ${run.id}`);
  lines.push(`pipeline  ${run.pipeline} (IR ${run.irHash})${run.entry ? ` from ${run.entry}${run.exportName ? `#${run.exportName}` : ''}` : ''}`);
  const driver = run.status === 'running' && run.driver ? (run.driver.alive ? ` (driven by pid ${run.driver.pid} on ${run.driver.host})` : ` — its driver (pid ${run.driver.pid} on ${run.driver.host}) is gone; continue with sluice resume ${run.id}`) : '';
  lines.push(`status    ${run.status}${driver}`);
  lines.push(`tasks     ${run.progress}`);
  if (run.holds.length) lines.push(`holds     ${run.holds.map((h) => `${h.kind} ${h.name}${h.task ? ` (task ${h.task})` : ' (the run)'}`).join(', ')}`);
  lines.push(`started   ${when(run.createdAt)}   finished ${when(run.finishedAt)}   mode ${run.mode}`);
  lines.push(`git       ${run.git ? `${run.git.commit.slice(0, 12)}${run.git.dirty ? ' (dirty tree)' : ' (clean)'}` : 'not a git checkout'}`);
  lines.push(`params    ${JSON.stringify(run.params)}`);
  if (run.error) lines.push(`error     ${run.error.split('\n').join('\n          ')}`);
  out(lines.join('\n') + '\n\n');
  const rows = [['TASK', 'STATE', 'ATTEMPTS', 'DURATION', 'CACHE']];
  for (const t of run.tasks) {
    if (t.kind !== 'task' && (t.state === 'succeeded' || t.state === 'skipped')) continue; // conditions and loops that did their job
    rows.push([t.key, t.state, String(t.attempts.length), t.durationMs !== null ? formatMs(t.durationMs) : '-', cacheText(t)]);
  }
  out(table(rows));
  const failed = run.tasks.flatMap((t) => t.attempts.filter((a) => a.outcome !== 'succeeded' && a.outcome !== 'running').map((a) => ({ key: t.key, a })));
  if (failed.length) {
    out('\nattempts that did not succeed:\n');
    for (const { key, a } of failed) out(`  ${key} #${a.n}: ${a.outcome}${a.exitCode !== null ? ` (exit ${a.exitCode})` : ''}${a.signal ? ` (${a.signal})` : ''}${a.message ? ` — ${a.message.split('\n')[0]}` : ''}\n`);
  }
  if (run.warnings?.length) {
    out('\nwarnings:\n');
    for (const w of run.warnings) out(`  ${w.task ? `${w.task}: ` : ''}${w.message.split('\n').join('\n    ')}\n`);
  }
  const errs = run.tasks.filter((t) => t.state === 'failed' && t.error && t.kind === 'task');
  if (errs.length) {
    out('\nfailures:\n');
    for (const t of errs) out(`  ${t.key}: ${t.error}\n`);
  }
  if (run.artifacts.length) {
    out('\nartifacts (lineage):\n');
    const arows = [['PRODUCED BY', 'TYPE', 'SIZE', 'SHA256', 'CONSUMED BY']];
    for (const a of run.artifacts) arows.push([a.name, a.type, String(a.size), a.hash.slice(0, 16), a.consumers.join(', ') || '-']);
    out(table(arows).replace(/^(?=.)/gm, '  '));
  }
  if (run.outputs && Object.keys(run.outputs).length) out(`\n${formatOutputs(run.outputs as { [name: string]: RuntimeValue }, o.artifactsRoot)}`);
}

/** `sluice logs`: text as written, each line prefixed with its task when several are shown, and a marker with the time where each attempt starts. */
export function logPrinter(o: { oneTask: boolean }, out: Out = stdout): (e: LogEntry) => void {
  return (e) => {
    if (e.kind === 'attempt') out(`${o.oneTask ? '' : `${e.task} | `}── attempt ${e.attempt} · started ${new Date(e.time).toISOString()} ──\n`);
    else out(o.oneTask ? e.text : e.text.replace(/^(?=.)/gm, `${e.task} | `));
  };
}

/** `sluice logs --timestamps`: each line after the time it was written (from the log's times file), attempt markers as without. */
async function printTimedLogs(dir: string, task: string | undefined, out: Out = stdout): Promise<void> {
  const [{ timedLines }, { keyOfLogFile, logFileName, parseLog }] = await Promise.all([import('@sluice/executor/log-times'), import('../query/logs.ts')]);
  if (!existsSync(dir)) return;
  const files = task !== undefined ? [logFileName(task)] : readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
  const print = logPrinter({ oneTask: task !== undefined }, out);
  for (const f of files) {
    if (!existsSync(join(dir, f))) {
      if (task !== undefined) throw new RunnerError('logs.none', `task ${task} has no log in this run`);
      continue;
    }
    for (const l of timedLines(join(dir, f))) {
      for (const e of parseLog(keyOfLogFile(f), l.text)) {
        if (e.kind === 'attempt') print(e);
        else print({ ...e, text: `${l.time !== undefined ? new Date(l.time).toISOString() : '-'.padEnd(24)} ${e.text}` });
      }
    }
  }
}

/** `sluice lineage`: the tree, each producer once. */
export function printLineage(root: LineageView, o: { json?: boolean | undefined }, out: Out = stdout): void {
  if (o.json) return out(json(root));
  const print = (n: LineageView, indent: string, label: string) => {
    const p = n.producedBy;
    const what = p ? `${p.type} from ${p.task}.${p.output} in run ${p.run}${p.cachedFrom ? ` (cache hit of ${p.cachedFrom})` : ''}${p.git ? ` (git ${p.git})` : ''}${n.repeated ? ' (shown above)' : ''}` : n.origin === 'pipeline input' ? 'pipeline input' : 'producer not recorded (a run from before lineage was recorded)';
    out(`${indent}${label}${n.hash.slice(0, 16)}  ${what}\n`);
    if (Object.keys(n.params).length) out(`${indent}    with ${JSON.stringify(n.params)}\n`);
    for (const i of n.inputs) print(i.lineage, indent + '    ', `${i.name} ← `);
  };
  print(root, '', '');
}

/** The backend a read verb talks to: the local store found from `--store`, `SLUICE_STORE` or an upward search for `.sluice/`. */
export function backendFor(o: { store?: string | undefined }): RunBackend {
  return new LocalBackend(locateStore({ flag: o.store }).root);
}

const STATUSES: readonly RunStatusView[] = ['running', 'succeeded', 'failed', 'interrupted'];
const storeOption = () => new Option('--store <dir>', 'state directory (default: $SLUICE_STORE, else the nearest .sluice/ here or above)').argParser(storeFlag);

/**
 * Registers the read verbs (`runs`, `show`, `logs`, `lineage`) and `stop`/`retry` on the program;
 * `setCode` receives each verb's exit code. `retry` drives the run through `drive` (the CLI's
 * live view and signal handling).
 */
export function registerInspect(program: Command, setCode: (code: number) => void): void {
  program.command('runs').description('list runs, newest first').addOption(storeOption())
    .option('-n, --limit <n>', 'how many', integerFlag(1), 20)
    .addOption(new Option('--status <status>', 'only runs in this state').choices(STATUSES))
    .option('--pipeline <name>', 'only runs of this pipeline').option('--json', 'JSON output')
    .action(async (o: { store?: string; limit: number; status?: RunStatusView; pipeline?: string; json?: boolean; cluster?: boolean }) => {
      try {
        const b = backendFor(o);
        printRuns(await b.listRuns({ limit: o.limit, ...(o.status ? { status: o.status } : {}), ...(o.pipeline ? { pipeline: o.pipeline } : {}) }), o);
      } catch (e) {
        // with --cluster, no local store means no local runs, not an error: the cluster's are listed next
        if (!o.cluster || (e as { code?: string }).code !== 'store.missing') throw e;
        if (!o.json) process.stdout.write('no local runs here\n');
      }
      setCode(0);
      if (o.cluster) setCode(await (await import('@sluice/cluster/cli')).clusterRuns(o as never));
    });
  program.command('show <run>').description('a run (id, unique prefix or latest): tasks, attempts, cache hits and misses, lineage').addOption(storeOption()).option('--json', 'JSON output')
    .action(async (run: string, o: { store?: string; json?: boolean; cluster?: boolean }) => {
      if (o.cluster) return setCode(await (await import('@sluice/cluster/cli')).clusterShow(run, o as never));
      const b = backendFor(o);
      printRun(await b.getRun(run), { json: o.json, artifactsRoot: join(b.location, 'artifacts') });
      setCode(0);
    });
  program.command('logs <run> [task]').description("a run's step logs, with a marker where each attempt starts").addOption(storeOption()).option('-f, --follow', 'keep printing until the run ends')
    .option('-t, --timestamps', 'the time each line was written (UTC); - for a line written by a child process of the step')
    .action(async (run: string, task: string | undefined, o: { store?: string; follow?: boolean; timestamps?: boolean; cluster?: boolean }) => {
      if (o.cluster) return setCode(await (await import('@sluice/cluster/cli')).clusterLogs(run, task, o as never));
      const b = backendFor(o);
      if (o.timestamps) {
        if (o.follow) throw new RunnerError('cli.timestamps', '--timestamps does not combine with --follow yet: follow the log, or print it with its times once the run is over');
        const v = await b.getRun(run);
        await printTimedLogs(join(b.location, 'runs', v.id, 'logs'), task);
        return setCode(0);
      }
      const print = logPrinter({ oneTask: task !== undefined });
      for await (const e of b.logs(run, { ...(task !== undefined ? { task } : {}), ...(o.follow ? { follow: true } : {}) })) print(e);
      if (o.follow) {
        // following ended while the run is still marked running: nobody drives it any more
        const v = await b.getRun(run);
        if (v.status === 'running' && v.driver && !v.driver.alive) {
          process.stderr.write(`sluice: run ${v.id} is still marked running but its driver is gone (pid ${v.driver.pid} on ${v.driver.host}); continue with sluice resume ${v.id}\n`);
          return setCode(1);
        }
      }
      setCode(0);
    });
  program.command('lineage <artifact>').description('walk an artifact back to the tasks and inputs that produced it (sha256 prefix, store path, or <task>.<output> with --run)').addOption(storeOption())
    .option('--run <run>', 'the run of <task>.<output>, or of the bytes when several runs produced them (default: latest)').option('--json', 'JSON output')
    .action(async (a: string, o: { store?: string; run?: string; json?: boolean }) => {
      printLineage(await backendFor(o).lineage(a, o.run ? { run: o.run } : {}), o);
      setCode(0);
    });
  program.command('stop <run>').description('ask a running run to stop (steps get their grace period); sluice resume continues it').addOption(storeOption())
    .action(async (run: string, o: { store?: string; cluster?: boolean }) => {
      if (o.cluster) return setCode(await (await import('@sluice/cluster/cli')).clusterStop(run, o as never));
      const r = await backendFor(o).stop(run);
      process.stdout.write(`${r.message}\n`);
      setCode(0);
    });
}
