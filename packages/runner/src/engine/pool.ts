import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { EXIT, type ExecArgs, STEP_END, type StepSpec, type WorkerDone, type WorkerRequest } from '@sluice/executor';

/** How an attempt in a child process ended, before classification. */
export interface ChildOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly killedFor: 'timeout' | 'preempted' | undefined;
  readonly spawnError?: Error;
}

/** What a warm worker needs to know about one attempt. */
export interface WorkerAttempt {
  readonly logFile: string;
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal;
  readonly args: ExecArgs;
  readonly spec: StepSpec & { readonly componentName?: string };
  readonly env: { readonly [name: string]: string };
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
  readonly resolve: (o: ChildOutcome) => void;
  readonly timers: NodeJS.Timeout[];
  readonly onAbort: () => void;
  readonly signal: AbortSignal;
  killedFor: ChildOutcome['killedFor'];
  code: number | undefined;
  /** Step-end markers seen (one per pipe). */
  ends: number;
  drained: boolean;
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

  constructor(entry: string, exportName: string | undefined, bin: string, env: NodeJS.ProcessEnv, private readonly graceMs: number, private readonly onGone: (w: WarmWorker) => void) {
    this.child = spawn(process.execPath, [bin, 'exec', '--worker', '--entry', entry, ...(exportName ? ['--export', exportName] : [])], { detached: true, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env });
    this.pid = this.child.pid;
    this.child.stdout?.on('data', (d: Buffer) => this.data(0, d));
    this.child.stderr?.on('data', (d: Buffer) => this.data(1, d));
    this.child.on('message', (m: WorkerDone) => {
      const c = this.current;
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
    for (const b of this.idleOutput) writeSync(fd, b);
    this.idleOutput = [];
    this.lastLog = a.logFile;
    return new Promise((resolve) => {
      const c: Current = { fd, resolve, timers: [], onAbort: () => this.stop('preempted'), signal: a.signal, killedFor: undefined, code: undefined, ends: 0, drained: false };
      this.current = c;
      if (this.exited || this.spawnError) {
        this.drainLater(c);
        return void this.finish();
      }
      if (a.timeoutMs !== undefined) c.timers.push(setTimeout(() => this.stop('timeout'), a.timeoutMs));
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
        writeSync(c.fd, this.pending[i]);
        this.pending[i] = Buffer.alloc(0);
      }
    }
    closeSync(c.fd);
    if (c.code !== undefined && !REUSABLE.has(c.code)) this.stopped = true;
    c.resolve(c.code !== undefined
      ? { code: c.code, signal: null, killedFor: c.killedFor }
      : { code: this.exited?.code ?? null, signal: this.exited?.signal ?? null, killedFor: c.killedFor, ...(this.spawnError ? { spawnError: this.spawnError } : {}) });
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

  private out(b: Buffer): void {
    if (!b.length) return;
    if (this.current) writeSync(this.current.fd, b);
    else if (this.lastLog) appendFileSync(this.lastLog, b); // late output of the previous step
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
