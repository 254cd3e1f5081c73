import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { EXIT, type ExecArgs, LineClock, STEP_END, type StepSpec, type WorkerDone, type WorkerRequest } from '@sluice/executor';

/** How an attempt in a child process ended, before classification. */
export interface ChildOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly killedFor: 'timeout' | 'preempted' | undefined;
  readonly spawnError?: Error;
  /** The step's output could not be written to its log (disk full...). */
  readonly logError?: string;
}

/**
 * A step's process starts through a small shell that leaves a watchdog in the step's process
 * group, then becomes the step (exec: same pid, same group). The watchdog polls the runner's pid;
 * once the runner is gone (even by SIGKILL) it waits the grace period (the executor stops the step
 * itself at once, as on SIGTERM, so that it can save a checkpoint) and sends SIGKILL to the whole
 * group: nothing of a step outlives its runner by more than its grace period. Node has no PR_SET_PDEATHSIG, and a
 * step's own children are out of the executor's reach.
 */
const WATCHDOG = 'p=$1; g=$2; shift 2; (trap "" TERM INT HUP; exec 3>&- 0</dev/null 1>/dev/null 2>&1; while kill -0 "$p" 2>/dev/null; do sleep 1; done; sleep "$g"; kill -KILL 0) & exec "$@"';

/** The command line that runs `cmd args` under the watchdog of this process. */
export function guarded(cmd: string, args: readonly string[], graceMs: number): [string, string[]] {
  if (process.platform === 'win32') return [cmd, [...args]];
  return ['/bin/sh', ['-c', WATCHDOG, 'sluice-step', String(process.pid), String(Math.ceil(graceMs / 1000) + 1), cmd, ...args]];
}

/** A readable line for an error writing a step's log. */
export function logWriteError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return `could not write the step's log: ${code === 'ENOSPC' ? 'the disk is full' : code ?? ''} (${(e as Error).message})`;
}

/** What a warm worker needs to know about one attempt. */
export interface WorkerAttempt {
  readonly logFile: string;
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal;
  readonly args: ExecArgs;
  readonly spec: StepSpec & { readonly componentName?: string };
  readonly env: { readonly [name: string]: string };
  /** Told the pid of the process group running the attempt, once it is known. */
  readonly onProcess?: (pid: number) => void;
}

export function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch { /* already gone */ }
}

const END = Buffer.from(STEP_END);
const REUSABLE = new Set<number>([EXIT.succeeded, EXIT.failed, EXIT.invalid, EXIT.nonretryable]);
/** How long to wait for output after the result, or for the pipes to close after an exit (a descendant may hold them). */
const DRAIN_MS = 2000;

/** Length of the longest end of `b` that could be the start of the step-end marker. */
function partialEnd(b: Buffer): number {
  for (let k = Math.min(END.length - 1, b.length); k > 0; k--) if (b.subarray(b.length - k).equals(END.subarray(0, k))) return k;
  return 0;
}

interface Current {
  readonly fd: number;
  /** Stamps the lines copied into the log (per-line times). */
  readonly clock: LineClock;
  readonly resolve: (o: ChildOutcome) => void;
  readonly timers: NodeJS.Timeout[];
  readonly onAbort: () => void;
  readonly signal: AbortSignal;
  killedFor: ChildOutcome['killedFor'];
  code: number | undefined;
  /** Step-end markers seen (one per pipe). */
  ends: number;
  drained: boolean;
  logError: string | undefined;
  readonly timeoutMs: number | undefined;
}

/**
 * A long-lived `sluice exec --worker` process in its own process group, running one step at a
 * time. Its stdout and stderr go to the log of the attempt it runs. A worker that crashes, is
 * stopped (timeout, preemption) or exits is not used again: {@link reusable} says so.
 */
export class WarmWorker {
  private readonly child: ChildProcess;
  private readonly pid: number | undefined;
  private current: Current | undefined;
  private readonly pending: [Buffer, Buffer] = [Buffer.alloc(0), Buffer.alloc(0)];
  private idleOutput: Buffer[] = [];
  private lastLog: string | undefined;
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private spawnError: Error | undefined;
  private closed = false;
  private stopped = false;
  /** True once a step has started in it: the worker has booted (loaded the pipeline). */
  private booted = false;

  constructor(entry: string, exportName: string | undefined, bin: string, env: NodeJS.ProcessEnv, private readonly graceMs: number, private readonly onGone: (w: WarmWorker) => void) {
    const [cmd, args] = guarded(process.execPath, [bin, 'exec', '--worker', '--entry', entry, ...(exportName ? ['--export', exportName] : [])], graceMs);
    this.child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env });
    this.pid = this.child.pid;
    this.child.stdout?.on('data', (d: Buffer) => this.data(0, d));
    this.child.stderr?.on('data', (d: Buffer) => this.data(1, d));
    this.child.on('message', (m: WorkerDone | { type: 'started' }) => {
      const c = this.current;
      if (m?.type === 'started' && c) {
        // the step's timeout counts from its start in the worker: booting the worker is not the step's time
        this.booted = true;
        if (c.timeoutMs !== undefined && !c.killedFor) {
          for (const t of c.timers.splice(0)) clearTimeout(t);
          c.timers.push(setTimeout(() => this.stop('timeout'), c.timeoutMs));
        }
        return;
      }
      if (m?.type !== 'done' || !c) return;
      c.code = m.code;
      if (c.ends >= 2) this.finish();
      else this.drainLater(c);
    });
    this.child.on('error', (e) => {
      // 'error' means it could not start, or could not be signalled or messaged: either way it is done for
      if (this.exited) return;
      this.spawnError ??= e;
      this.gone();
      this.finish();
    });
    this.child.once('exit', (code, signal) => {
      this.exited = { code, signal };
      if (this.pid !== undefined) killGroup(this.pid, 'SIGKILL'); // whatever its steps left behind
      this.gone();
      if (this.current) this.drainLater(this.current);
    });
    this.child.once('close', () => {
      this.closed = true;
      this.finish();
    });
  }

  /** True when the worker can take another step. */
  get reusable(): boolean {
    return !this.stopped && !this.exited && !this.spawnError && !this.current;
  }

  /** Runs one attempt; resolves when the step's result is in and its output is in the log. */
  run(a: WorkerAttempt): Promise<ChildOutcome> {
    mkdirSync(dirname(a.logFile), { recursive: true });
    const fd = openSync(a.logFile, 'a');
    let logError: string | undefined;
    try {
      for (const b of this.idleOutput) writeSync(fd, b);
    } catch (e) {
      logError = logWriteError(e);
    }
    this.idleOutput = [];
    this.lastLog = a.logFile;
    if (this.pid !== undefined) a.onProcess?.(this.pid);
    return new Promise((resolve) => {
      const c: Current = { fd, clock: new LineClock(a.logFile), resolve, timers: [], onAbort: () => this.stop('preempted'), signal: a.signal, killedFor: undefined, code: undefined, ends: 0, drained: false, logError, timeoutMs: a.timeoutMs };
      this.current = c;
      if (this.exited || this.spawnError) {
        this.drainLater(c);
        return void this.finish();
      }
      // until the worker says the step started, allow for its boot (replaced on 'started')
      if (a.timeoutMs !== undefined) c.timers.push(setTimeout(() => this.stop('timeout'), a.timeoutMs + (this.booted ? 0 : 60_000)));
      const msg: WorkerRequest = { type: 'step', args: a.args, spec: a.spec, env: a.env };
      this.child.send(msg, (e) => {
        if (e) this.stop('preempted'); // the channel is gone: the worker is dying; its exit ends the attempt
      });
      if (a.signal.aborted) c.onAbort();
      else a.signal.addEventListener('abort', c.onAbort, { once: true });
    });
  }

  /** Asks the running step to stop (SIGTERM to the group), then kills the group after the grace period. */
  private stop(why: 'timeout' | 'preempted'): void {
    const c = this.current;
    if (!c || c.killedFor || this.pid === undefined) return;
    c.killedFor = why;
    this.stopped = true;
    const pid = this.pid;
    killGroup(pid, 'SIGTERM');
    c.timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), why === 'timeout' ? Math.min(this.graceMs, 5000) : this.graceMs));
  }

  /** Ends the current attempt once its result (or the worker's end) is known and its output is in the log. */
  private finish(): void {
    const c = this.current;
    if (!c) return;
    const dead = this.exited !== undefined || this.spawnError !== undefined;
    const ready = c.code !== undefined ? c.ends >= 2 || c.drained || this.closed : this.spawnError !== undefined || this.closed || (this.exited !== undefined && c.drained);
    if (!ready) return;
    this.current = undefined;
    for (const t of c.timers) clearTimeout(t);
    c.signal.removeEventListener('abort', c.onAbort);
    for (const i of [0, 1] as const) {
      if (dead && this.pending[i].length) {
        this.write(c, this.pending[i]);
        this.pending[i] = Buffer.alloc(0);
      }
    }
    closeSync(c.fd);
    if (c.code !== undefined && !REUSABLE.has(c.code)) this.stopped = true;
    const log = c.logError ? { logError: c.logError } : {};
    c.resolve(c.code !== undefined
      ? { code: c.code, signal: null, killedFor: c.killedFor, ...log }
      : { code: this.exited?.code ?? null, signal: this.exited?.signal ?? null, killedFor: c.killedFor, ...(this.spawnError ? { spawnError: this.spawnError } : {}), ...log });
  }

  /** Gives the pipes {@link DRAIN_MS} more, then ends the attempt with what is known. */
  private drainLater(c: Current): void {
    c.timers.push(setTimeout(() => {
      c.drained = true;
      this.finish();
    }, DRAIN_MS));
  }

  private data(stream: 0 | 1, chunk: Buffer): void {
    let buf = this.pending[stream].length ? Buffer.concat([this.pending[stream], chunk]) : chunk;
    for (;;) {
      const i = buf.indexOf(END);
      if (i < 0) break;
      this.out(buf.subarray(0, i));
      buf = buf.subarray(i + END.length);
      const c = this.current;
      if (c) {
        c.ends++;
        if (c.ends >= 2 && c.code !== undefined) this.finish();
      }
    }
    const keep = partialEnd(buf);
    this.out(buf.subarray(0, buf.length - keep));
    this.pending[stream] = keep ? Buffer.from(buf.subarray(buf.length - keep)) : Buffer.alloc(0);
  }

  /** Writes to the attempt's log; a full disk ends the writing (the attempt then fails), never the runner. */
  private write(c: Current, b: Buffer): void {
    if (c.logError) return;
    try {
      c.clock.note(fstatSync(c.fd).size, b);
      writeSync(c.fd, b);
    } catch (e) {
      c.logError = logWriteError(e);
    }
  }

  private out(b: Buffer): void {
    if (!b.length) return;
    if (this.current) this.write(this.current, b);
    else if (this.lastLog) {
      try { appendFileSync(this.lastLog, b); } catch { /* late output of the previous step, on a full disk */ }
    } // late output of the previous step
    else if (this.idleOutput.reduce((n, x) => n + x.length, 0) < 65536) this.idleOutput.push(Buffer.from(b)); // startup output goes to the first step's log
  }

  private gone(): void {
    this.stopped = true;
    this.onGone(this);
  }

  /** Ends the worker and whatever its steps left running. */
  kill(): void {
    this.stopped = true;
    if (this.pid !== undefined && !this.exited) killGroup(this.pid, 'SIGKILL');
  }
}
