import { join } from 'node:path';
import { RunnerError } from '../errors.ts';
import { runPipeline, storePaths, type RunOptions } from '../run.ts';
import { StateStore } from '../store/state.ts';
import { lineageStart, lineageView } from '../query/lineage.ts';
import { readNewLogs } from '../query/logs.ts';
import { driverOf, findRunRow, listRunViews, localRef, runOverview, runView, taskViewOf } from '../query/runs.ts';
import { naturalCompare } from '../query/order.ts';
import type { TriggerView } from '../query/triggers.ts';
import type { DriveOptions, LogOptions, RunBackend, RunOutcome, StopResult, SubmitRequest } from './backend.ts';
import type { LineageView, LogEntry, RunFilter, RunOverviewView, RunSummaryView, RunView, TaskView } from './views.ts';

/** What a local run needs besides {@link SubmitRequest}: how steps run on this machine. */
export interface LocalSubmitRequest extends SubmitRequest {
  readonly mode?: 'process' | 'inprocess';
  readonly freshProcesses?: boolean;
  readonly concurrency?: number;
  readonly containers?: 'auto' | 'require' | 'host';
  readonly durability?: 'normal' | 'full';
  readonly graceMs?: number;
  readonly tracking?: NonNullable<RunOptions['tracking']>;
}

/** Local runs may also take the run options of {@link runPipeline} (mode, concurrency, ...). */
export type LocalDriveOptions = DriveOptions & Pick<RunOptions, 'mode' | 'freshProcesses' | 'concurrency' | 'containers' | 'durability' | 'graceMs' | 'noCache' | 'tracking'> & { readonly entry?: string };

/**
 * The local backend: runs driven by this process with the engine, state in a store directory
 * (`.sluice/`: SQLite state, content-addressed artifacts, logs). Reads open the store read-only
 * for the call; nothing is cached between calls.
 */
export class LocalBackend implements RunBackend {
  readonly kind = 'local' as const;
  readonly location: string;
  private readonly paths: ReturnType<typeof storePaths>;

  /** @param storeDir the store directory (see `locateStore` for how the CLI finds it) */
  constructor(storeDir: string) {
    this.paths = storePaths(storeDir);
    this.location = this.paths.root;
  }

  private read<T>(f: (s: StateStore) => T): T {
    const s = StateStore.open(this.paths.db, { readonly: true });
    try {
      return f(s);
    } finally {
      s.close();
    }
  }

  async listRuns(filter: RunFilter = {}): Promise<readonly RunSummaryView[]> {
    if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit < 1)) throw new RunnerError('cli.limit', `--limit expects a whole number of at least 1, got ${filter.limit}`);
    return this.read((s) => listRunViews(s, this.paths.root, filter));
  }

  async getRun(run: string): Promise<RunView> {
    return this.read((s) => runView(s, findRunRow(s, run), this.paths.root));
  }

  /** The run as a page shows it first: every task in brief (see {@link RunOverviewView}); cheap for big runs. */
  async getRunOverview(run: string, opts: { readonly artifactLimit?: number } = {}): Promise<RunOverviewView> {
    return this.read((s) => runOverview(s, findRunRow(s, run), this.paths.root, opts));
  }

  /** One task of a run with its attempts, cache hit or miss (and why), inputs and outputs. */
  async getTask(run: string, key: string): Promise<TaskView> {
    return this.read((s) => {
      const row = findRunRow(s, run);
      const t = taskViewOf(s, row, key);
      if (!t) throw new RunnerError('task.unknown', `run ${row.id} has no task "${key}"`);
      return t;
    });
  }

  /** The store's triggers with their last decisions and the runs they started (empty: the trigger daemon never ran here). */
  async triggers(opts: { readonly decisions?: number; readonly fires?: number } = {}): Promise<readonly TriggerView[]> {
    // loaded when asked: @sluice/triggers stays off the CLI's start-up path
    return (await import('../query/triggers.ts')).triggerViews(this.paths.db, opts);
  }

  async lineage(artifact: string, opts: { readonly run?: string } = {}): Promise<LineageView> {
    return this.read((s) => lineageView(s, lineageStart(s, artifact, opts.run)));
  }

  async *logs(run: string, opts: LogOptions = {}): AsyncIterable<LogEntry> {
    const { id, task } = this.read((s) => {
      const row = findRunRow(s, run);
      if (opts.task !== undefined && !s.getTask(row.id, opts.task)) {
        const keys = s.tasksOfRun(row.id).filter((t) => t.component && t.state !== 'skipped' && t.state !== 'omitted').map((t) => t.key).sort(naturalCompare);
        throw new RunnerError('task.unknown', `run ${row.id} has no task "${opts.task}"${keys.length ? `; its tasks: ${keys.slice(0, 20).join(', ')}${keys.length > 20 ? `, … (${keys.length})` : ''}` : ' (none started yet)'}`);
      }
      return { id: row.id, task: opts.task };
    });
    const dir = join(this.paths.runs, id, 'logs');
    const offsets = new Map<string, number>();
    const tasks = task === undefined ? undefined : [task];
    for (;;) {
      const running = opts.follow ? this.read((s) => {
        const row = s.getRun(id);
        return row?.status === 'running' && driverOf(s.getLease(id), Date.now())?.alive === true;
      }) : false;
      yield* readNewLogs(dir, tasks, offsets, !running);
      if (!running || opts.signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, opts.pollMs ?? 500);
        opts.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
  }

  async submit(req: LocalSubmitRequest, opts: LocalDriveOptions = {}): Promise<RunOutcome> {
    if (opts.detach) throw new RunnerError('backend.detach', 'the local backend drives runs in this process: it cannot detach from one (run it in the background, or use a cluster backend)');
    const r = await runPipeline(req.file, {
      entry: req.file, storeDir: this.paths.root,
      ...(req.exportName !== undefined ? { exportName: req.exportName } : {}), ...(req.params ? { params: req.params } : {}),
      ...(req.paramsFromCli ? { paramsFromCli: true } : {}), ...(req.runId !== undefined ? { runId: req.runId } : {}),
      ...pick(req), ...pick(opts), ...(req.noCache || opts.noCache ? { noCache: true } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}), ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { ref: localRef(this.paths.root, r.runId), id: r.runId, status: r.status, outputs: r.outputs, ...(r.error ? { error: r.error } : {}) };
  }

  async resume(run: string, opts: LocalDriveOptions = {}): Promise<RunOutcome> {
    return this.continue(run, opts, false);
  }

  async retry(run: string, opts: LocalDriveOptions = {}): Promise<RunOutcome> {
    return this.continue(run, opts, true);
  }

  private async continue(run: string, opts: LocalDriveOptions, retry: boolean): Promise<RunOutcome> {
    if (opts.detach) throw new RunnerError('backend.detach', 'the local backend drives runs in this process: it cannot detach from one');
    const row = this.read((s) => {
      const r = findRunRow(s, run);
      const alive = r.status === 'running' && driverOf(s.getLease(r.id), Date.now())?.alive;
      if (alive) throw new RunnerError('run.running', `run ${r.id} is running (driven by pid ${s.getLease(r.id)?.pid}); stop it first (sluice stop ${r.id})`);
      if (retry && r.status === 'succeeded') throw new RunnerError('run.succeeded', `run ${r.id} succeeded: nothing to retry (start a new run; the cache reuses its steps)`);
      return r;
    });
    const entry = opts.entry ?? row.entry ?? undefined;
    if (!entry) throw new RunnerError('resume.noEntry', `run ${row.id} was started from code, not from a file; continue it with runPipeline(pipeline, { resume: '${row.id}' })`);
    const mode = opts.mode ?? (row.mode === 'inprocess' ? 'inprocess' : 'process');
    const r = await runPipeline(entry, {
      entry, storeDir: this.paths.root, resume: row.id, mode, ...(row.export_name ? { exportName: row.export_name } : {}),
      ...pick(opts), ...(opts.noCache ? { noCache: true } : {}), ...(opts.onEvent ? { onEvent: opts.onEvent } : {}), ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { ref: localRef(this.paths.root, r.runId), id: r.runId, status: r.status, outputs: r.outputs, ...(r.error ? { error: r.error } : {}) };
  }

  async stop(run: string): Promise<StopResult> {
    const { row, lease } = this.read((s) => {
      const r = findRunRow(s, run);
      return { row: r, lease: s.getLease(r.id) };
    });
    const ref = localRef(this.paths.root, row.id);
    if (row.status !== 'running') return { ref, action: 'finished', status: row.status, message: `run ${row.id} is not running (${row.status})` };
    const driver = driverOf(lease, Date.now());
    if (driver?.alive && lease) {
      if (lease.host !== (await import('node:os')).hostname()) throw new RunnerError('run.remote', `run ${row.id} is driven by pid ${lease.pid} on ${lease.host}, another machine; stop it there`);
      process.kill(lease.pid, 'SIGTERM');
      return { ref, action: 'stopping', status: 'running', message: `asked pid ${lease.pid} to stop run ${row.id}: running steps get their grace period; continue with sluice resume ${row.id}` };
    }
    // nobody drives it: record what happened, so `show` and `logs -f` stop waiting
    const s = StateStore.open(this.paths.db);
    try {
      const now = Date.now();
      s.setRunStatus(row.id, 'interrupted', now, row.outputs, `its driver (${lease ? `pid ${lease.pid} on ${lease.host}` : 'unknown'}) is gone; marked interrupted by sluice stop`);
    } finally {
      s.close();
    }
    return { ref, action: 'marked', status: 'interrupted', message: `run ${row.id} had no live driver; recorded as interrupted (continue with sluice resume ${row.id})` };
  }

  close(): void {}
}

function pick(o: Partial<Pick<RunOptions, 'mode' | 'freshProcesses' | 'concurrency' | 'containers' | 'durability' | 'graceMs' | 'tracking'>>): Partial<RunOptions> {
  const out: { -readonly [K in keyof RunOptions]?: RunOptions[K] } = {};
  if (o.mode !== undefined) out.mode = o.mode;
  if (o.freshProcesses) out.freshProcesses = true;
  if (o.concurrency !== undefined) out.concurrency = o.concurrency;
  if (o.containers !== undefined) out.containers = o.containers;
  if (o.durability !== undefined) out.durability = o.durability;
  if (o.graceMs !== undefined) out.graceMs = o.graceMs;
  if (o.tracking !== undefined) out.tracking = o.tracking;
  return out;
}
