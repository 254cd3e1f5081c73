import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ComponentIR, ContainerComponentIR, JsonValue } from '@sluice/sdk';
import { paramText, renderArgv } from '@sluice/sdk';
import { type ArtifactInputSpec, EXIT, executeStep, readOutputFiles, type StepResult, type StepSpec, timesFileOf } from '@sluice/executor';
import type { AttemptOutcome } from '../store/state.ts';
import { environmentProblem } from '../errors.ts';
import { type ChildOutcome, guarded, killGroup, WarmWorker } from './pool.ts';
import type { FailureKind } from './retry.ts';
import { type FunctionRuntime, isArtifactRef, type LoadedPipeline, type RuntimeValue } from './types.ts';

export interface AttemptRequest {
  readonly runId: string;
  readonly key: string;
  readonly taskId: string;
  readonly componentHash: string;
  readonly component: ComponentIR;
  readonly inputs: { readonly [name: string]: RuntimeValue };
  readonly attempt: number;
  readonly gpus: readonly string[];
  readonly outputsDir: string;
  readonly checkpointDir: string;
  readonly logFile: string;
  readonly timeoutMs: number | undefined;
  readonly env: { readonly [name: string]: string };
  /** Aborted when the runner stops (reason `'preempted'`): the step gets its grace period. */
  readonly signal: AbortSignal;
  /** Told the pid of the process group that runs the attempt (recorded, to stop it if the runner dies). */
  readonly onProcess?: (pid: number) => void;
}

export type AttemptResult =
  | { readonly ok: true; readonly params: { readonly [name: string]: JsonValue }; readonly artifacts: { readonly [name: string]: { readonly path: string; readonly metadata: { readonly [key: string]: JsonValue } } } }
  | { readonly ok: false; readonly kind: FailureKind; readonly outcome: AttemptOutcome; readonly message: string; readonly exitCode: number | null; readonly signal: string | null };

export interface Launcher {
  run(req: AttemptRequest): Promise<AttemptResult>;
  /** Releases what the launcher holds (warm worker processes). */
  close?(): void;
}

const fromStep = (r: StepResult, exitCode: number | null = null): AttemptResult => {
  switch (r.status) {
    case 'succeeded': return { ok: true, params: r.params, artifacts: r.artifacts };
    case 'failed': return { ok: false, kind: 'user', outcome: 'failed', message: r.message, exitCode: exitCode ?? EXIT.failed, signal: null };
    case 'invalid': return { ok: false, kind: 'invalid', outcome: 'invalid', message: r.message, exitCode: exitCode ?? EXIT.invalid, signal: null };
    case 'nonretryable': return { ok: false, kind: 'nonretryable', outcome: 'nonretryable', message: r.message, exitCode: exitCode ?? EXIT.nonretryable, signal: null };
    case 'preempted': return { ok: false, kind: 'preempted', outcome: 'preempted', message: r.message, exitCode: exitCode ?? EXIT.preempted, signal: null };
  }
};

/** Builds the executor's spec for a function step from resolved inputs. */
export function stepSpec(req: AttemptRequest, runtimeInputs: ComponentIR['inputs'], logFile?: string): StepSpec {
  const params: Record<string, string> = {};
  const artifacts: Record<string, ArtifactInputSpec | ArtifactInputSpec[]> = {};
  for (const [name, v] of Object.entries(req.inputs)) {
    const io = runtimeInputs[name];
    if (io?.kind === 'artifact') {
      const one = (a: RuntimeValue): ArtifactInputSpec => {
        if (!isArtifactRef(a)) throw new Error(`input ${name} expects an artifact, got ${JSON.stringify(a)}`);
        return { path: a.path, type: a.type, uri: a.uri, hash: a.hash, metadata: a.metadata };
      };
      artifacts[name] = Array.isArray(v) ? (v as RuntimeValue[]).map(one) : one(v);
    } else {
      params[name] = io?.kind === 'parameter' && io.type === 'string' && typeof v === 'string' ? v : JSON.stringify(v);
    }
  }
  return {
    component: req.componentHash, task: req.taskId, runId: req.runId, attempt: req.attempt, params, artifacts,
    outputsDir: req.outputsDir, checkpointDir: req.checkpointDir, gpus: req.gpus, ...(logFile ? { logFile } : {}),
  };
}

/** Runs function steps inside the runner's process (tests, tiny steps). A timeout aborts `ctx.signal` but cannot kill. */
export class InProcessLauncher implements Launcher {
  constructor(private readonly runtimes: LoadedPipeline['runtimes']) {}
  async run(req: AttemptRequest): Promise<AttemptResult> {
    const runtime: FunctionRuntime | undefined = this.runtimes.get(req.componentHash);
    if (!runtime) return { ok: false, kind: 'invalid', outcome: 'invalid', message: `no runnable function component ${req.componentHash} (${req.component.name})`, exitCode: null, signal: null };
    try {
      mkdirSync(dirname(req.logFile), { recursive: true }); // the process launchers create it too
    } catch (e) {
      return { ok: false, kind: 'system', outcome: 'error', message: environmentProblem(e) ?? (e as Error).message, exitCode: null, signal: null };
    }
    if (req.timeoutMs === undefined) {
      try {
        return fromStep(await executeStep(runtime, stepSpec(req, runtime.ir.inputs, req.logFile), { signal: req.signal, env: req.env }));
      } catch (e) {
        return { ok: false, kind: 'system', outcome: 'error', message: `executor error: ${(e as Error).stack ?? e}`, exitCode: null, signal: null };
      }
    }
    const ac = new AbortController();
    const onStop = () => ac.abort(req.signal.reason);
    req.signal.addEventListener('abort', onStop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const step = executeStep(runtime, stepSpec(req, runtime.ir.inputs, req.logFile), { signal: ac.signal, env: req.env });
      const timedOut = new Promise<AttemptResult>((resolve) => {
        timer = setTimeout(() => {
          ac.abort('timeout');
          resolve({ ok: false, kind: 'user', outcome: 'timeout', message: `timed out after ${req.timeoutMs! / 1000}s (in-process: the step was asked to stop but cannot be killed)`, exitCode: null, signal: null });
        }, req.timeoutMs);
      });
      return await Promise.race([step.then((r) => fromStep(r)), timedOut]);
    } catch (e) {
      return { ok: false, kind: 'system', outcome: 'error', message: `executor error: ${(e as Error).stack ?? e}`, exitCode: null, signal: null };
    } finally {
      if (timer) clearTimeout(timer);
      req.signal.removeEventListener('abort', onStop);
    }
  }
}

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'sluice.mjs');

function tail(file: string, n = 2000): string {
  try {
    const t = readFileSync(file, 'utf8');
    return t.slice(-n).trim();
  } catch {
    return '';
  }
}

/** Spawns a command in its own process group, with timeout and stop handling that reach the whole tree. */
function runGroup(cmd: string, args: readonly string[], req: AttemptRequest, env: NodeJS.ProcessEnv, graceMs: number): Promise<ChildOutcome> {
  mkdirSync(dirname(req.logFile), { recursive: true });
  const fd = openSync(req.logFile, 'a');
  return new Promise((resolve) => {
    let killedFor: ChildOutcome['killedFor'];
    let child;
    try {
      const [c, a] = guarded(cmd, args, graceMs);
      child = spawn(c, a, { detached: true, stdio: ['ignore', fd, fd], env });
    } catch (e) {
      closeSync(fd);
      return resolve({ code: null, signal: null, killedFor, spawnError: e as Error });
    }
    const pid = child.pid;
    if (pid !== undefined) req.onProcess?.(pid);
    const timers: NodeJS.Timeout[] = [];
    const stop = (why: 'timeout' | 'preempted') => {
      if (killedFor || pid === undefined) return;
      killedFor = why;
      killGroup(pid, 'SIGTERM');
      timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), why === 'timeout' ? Math.min(graceMs, 5000) : graceMs));
    };
    if (req.timeoutMs !== undefined) timers.push(setTimeout(() => stop('timeout'), req.timeoutMs));
    const onAbort = () => stop('preempted');
    if (req.signal.aborted) onAbort();
    req.signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => {
      for (const t of timers) clearTimeout(t);
      req.signal.removeEventListener('abort', onAbort);
      closeSync(fd);
      resolve({ code: null, signal: null, killedFor, spawnError: e });
    });
    child.once('exit', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      req.signal.removeEventListener('abort', onAbort);
      if (pid !== undefined) killGroup(pid, 'SIGKILL'); // whatever the step left behind
      closeSync(fd);
      resolve({ code, signal, killedFor });
    });
  });
}

function classify(o: ChildOutcome, req: AttemptRequest, errorFile: string | undefined): AttemptResult | undefined {
  const base = { exitCode: o.code, signal: o.signal };
  if (o.spawnError) return { ok: false, kind: 'system', outcome: 'error', message: `could not start the step: ${o.spawnError.message}`, ...base };
  if (o.killedFor === 'timeout') return { ok: false, kind: 'user', outcome: 'timeout', message: `timed out after ${req.timeoutMs! / 1000}s; its process tree was killed`, ...base };
  let reported: StepResult | undefined;
  if (errorFile && existsSync(errorFile)) {
    try { reported = JSON.parse(readFileSync(errorFile, 'utf8')) as StepResult; } catch { /* torn */ }
  }
  if (o.logError) return { ok: false, kind: 'system', outcome: 'error', message: o.logError, ...base };
  // a step that ends with exit 0 within its grace period finished: it is not interrupted
  if ((o.killedFor === 'preempted' && o.code !== 0) || o.code === EXIT.preempted) return { ok: false, kind: 'preempted', outcome: 'preempted', message: reported && reported.status !== 'succeeded' ? reported.message : 'terminated (SIGTERM)', ...base };
  if (o.code === 0) return undefined;
  if (reported && reported.status !== 'succeeded' && (o.code === EXIT.failed || o.code === EXIT.invalid || o.code === EXIT.nonretryable)) return fromStep(reported, o.code);
  const log = tail(req.logFile, 4000);
  if (o.code === 134 || /heap out of memory|ENOMEM|Cannot allocate memory/.test(log)) return { ok: false, kind: 'system', outcome: 'error', message: `out of memory (${o.signal ?? `exit ${o.code}`})`, ...base };
  if (o.signal) return { ok: false, kind: 'system', outcome: 'error', message: `killed by ${o.signal}${o.signal === 'SIGKILL' ? ' (out of memory, or killed from outside)' : ''}`, ...base };
  if (o.code === EXIT.failed && !errorFile) return { ok: false, kind: 'user', outcome: 'failed', message: `exited with code 1: ${log.split('\n').slice(-3).join(' | ')}`, ...base };
  return { ok: false, kind: 'system', outcome: 'error', message: `the step's process exited with code ${o.code} (crash or process.exit)${log ? `: ${log.split('\n').slice(-3).join(' | ')}` : ''}`, ...base };
}

/** A step that must start in a process of its own: GPUs (CUDA reads `CUDA_VISIBLE_DEVICES` once), or environment read at process start. */
export function needsFreshProcess(req: Pick<AttemptRequest, 'gpus' | 'env'>): boolean {
  return req.gpus.length > 0 || Object.keys(req.env).some((k) => /^(NODE_|UV_|LD_)/.test(k) || k === 'SLUICE_FRESH_PROCESS');
}

/** Options of {@link ProcessLauncher}. */
export interface ProcessLauncherOptions {
  readonly entry: string;
  readonly exportName: string | undefined;
  readonly graceMs: number;
  /** One new process per attempt (`sluice exec`), as in an Argo pod; otherwise warm workers. @default false */
  readonly fresh?: boolean;
}

/**
 * Runs function steps in child processes, in their own process groups: a crash, `process.exit` or
 * out-of-memory in a step cannot take the runner down, and a timeout kills the whole tree.
 * By default steps run in warm workers (`sluice exec --worker`: the pipeline is loaded once, then
 * steps run one at a time through the same executor); a worker that crashes, times out or is
 * preempted is discarded and replaced. GPU steps, steps whose environment must be set at process
 * start, and every step under `fresh` get a new `sluice exec` process per attempt, as in a pod.
 */
export class ProcessLauncher implements Launcher {
  private readonly idle: WarmWorker[] = [];
  private readonly workers = new Set<WarmWorker>();
  private closed = false;
  constructor(private readonly o: ProcessLauncherOptions) {}

  async run(req: AttemptRequest): Promise<AttemptResult> {
    let o: ChildOutcome;
    try {
      mkdirSync(req.outputsDir, { recursive: true });
      const spec = { ...stepSpec(req, req.component.inputs), componentName: req.component.name };
      o = this.o.fresh || needsFreshProcess(req) ? await this.fresh(req, spec) : await this.warm(req, spec);
    } catch (e) {
      // the attempt could not even be set up (disk full, permissions): a system error, not a crash of the runner
      return { ok: false, kind: 'system', outcome: 'error', message: `could not start the step: ${environmentProblem(e) ?? (e as Error).message}`, exitCode: null, signal: null };
    }
    const bad = classify(o, req, join(req.outputsDir, 'error.json'));
    if (bad) return bad;
    try {
      const r = readOutputFiles(req.outputsDir, req.component.outputs);
      return { ok: true, ...r };
    } catch (e) {
      return { ok: false, kind: 'user', outcome: 'failed', message: `could not read the step's outputs: ${(e as Error).message}`, exitCode: 0, signal: null };
    }
  }

  private fresh(req: AttemptRequest, spec: StepSpec): Promise<ChildOutcome> {
    const specFile = join(dirname(req.outputsDir), 'spec.json');
    writeFileSync(specFile, JSON.stringify({ ...spec, entry: this.o.entry, ...(this.o.exportName ? { exportName: this.o.exportName } : {}) }));
    const env: NodeJS.ProcessEnv = {
      ...process.env, ...req.env,
      SLUICE_RUN_ID: req.runId, SLUICE_ATTEMPT: String(req.attempt), SLUICE_PARENT_PID: String(process.pid),
      SLUICE_GRACE_MS: String(this.o.graceMs),
      CUDA_VISIBLE_DEVICES: req.gpus.join(','),
      // the step stamps the lines it writes into its log (per-line times, `sluice logs --timestamps`)
      SLUICE_LOG_TIMES: timesFileOf(req.logFile),
    };
    return runGroup(process.execPath, [BIN, 'exec', '--spec', specFile], req, env, this.o.graceMs + 2000);
  }

  private async warm(req: AttemptRequest, spec: StepSpec & { componentName: string }): Promise<ChildOutcome> {
    let w = this.idle.pop();
    while (w && !w.reusable) w = this.idle.pop();
    if (!w) {
      if (this.closed) return { code: null, signal: null, killedFor: 'preempted' };
      const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_PARENT_PID: String(process.pid), SLUICE_GRACE_MS: String(this.o.graceMs), CUDA_VISIBLE_DEVICES: '' };
      w = new WarmWorker(this.o.entry, this.o.exportName, BIN, env, this.o.graceMs + 2000, (gone) => {
        this.workers.delete(gone);
        const i = this.idle.indexOf(gone);
        if (i >= 0) this.idle.splice(i, 1);
      });
      this.workers.add(w);
    }
    const args = { entry: this.o.entry, ...(this.o.exportName ? { exportName: this.o.exportName } : {}), component: spec.component, task: spec.task, params: {}, artifacts: {}, artifactOrders: [], outputs: spec.outputsDir };
    const o = await w.run({ logFile: req.logFile, timeoutMs: req.timeoutMs, signal: req.signal, args, spec, env: { ...req.env, SLUICE_RUN_ID: req.runId, SLUICE_ATTEMPT: String(req.attempt) }, ...(req.onProcess ? { onProcess: req.onProcess } : {}) });
    if (w.reusable && !this.closed) this.idle.push(w);
    else {
      w.kill();
      this.workers.delete(w);
    }
    return o;
  }

  /** Ends the warm workers (the run is over). */
  close(): void {
    this.closed = true;
    for (const w of this.workers) w.kill();
    this.workers.clear();
    this.idle.length = 0;
  }
}

let engineCache: string | null | undefined;
/** `docker` or `podman` when one is installed and its engine answers; otherwise null. */
export function detectContainerEngine(): string | null {
  if (engineCache !== undefined) return engineCache;
  engineCache = null;
  for (const cmd of ['docker', 'podman']) {
    const r = spawnSync(cmd, ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    if (r.status === 0) {
      engineCache = cmd;
      break;
    }
  }
  return engineCache;
}

/**
 * Runs container components with docker or podman when one answers; otherwise runs the command on
 * the host (with a warning), or fails when containers are required.
 */
export class ContainerLauncher implements Launcher {
  private warned = new Set<string>();
  constructor(private readonly policy: 'auto' | 'require' | 'host', private readonly warn: (msg: string) => void, private readonly graceMs: number) {}
  async run(req: AttemptRequest): Promise<AttemptResult> {
    const c = req.component as ContainerComponentIR;
    const engine = this.policy === 'host' ? null : detectContainerEngine();
    if (!engine && this.policy === 'require')
      return { ok: false, kind: 'nonretryable', outcome: 'nonretryable', message: `container component ${c.name} (${c.image}) needs docker or podman, and neither answers on this machine (--containers=require)`, exitCode: null, signal: null };
    const inputValue = (name: string): string => {
      const v = req.inputs[name] ?? (c.inputs[name]?.kind === 'parameter' ? (c.inputs[name] as { default?: JsonValue }).default : undefined);
      return paramText((v ?? null) as JsonValue);
    };
    let argv: string[];
    try {
      // The SDK's one rendering of a container command (the compiler spells the same for a pod).
      argv = renderArgv(c, {
        literal: (v) => v,
        inputValue,
        inputPath: (name, kind) => {
          if (kind === 'parameter') {
            // A parameter read from a file, as Argo's raw input artifact gives it in a pod.
            const f = join(req.outputsDir, '..', 'inputs', name);
            mkdirSync(dirname(f), { recursive: true });
            writeFileSync(f, inputValue(name));
            return f;
          }
          const v = req.inputs[name];
          if (isArtifactRef(v)) return v.path;
          throw new Error(`inputPath ${name}: no artifact was given`);
        },
        outputPath: (name, kind) => {
          const p = join(req.outputsDir, kind === 'parameter' ? 'parameters' : 'artifacts', name);
          mkdirSync(dirname(p), { recursive: true });
          return p;
        },
      });
    } catch (e) {
      return { ok: false, kind: 'invalid', outcome: 'invalid', message: (e as Error).message, exitCode: null, signal: null };
    }
    mkdirSync(req.outputsDir, { recursive: true });
    let cmd: string;
    let args: string[];
    if (engine) {
      const mounts = new Set<string>([req.outputsDir]);
      for (const v of Object.values(req.inputs)) {
        for (const a of Array.isArray(v) ? v : [v]) if (isArtifactRef(a)) mounts.add(dirname(a.path));
      }
      args = ['run', '--rm', ...[...mounts].flatMap((m) => ['-v', `${m}:${m}`]), ...Object.entries(req.env).flatMap(([k, v]) => ['-e', `${k}=${v}`])];
      if (req.gpus.length) args.push('--gpus', `"device=${req.gpus.join(',')}"`);
      args.push(c.image, ...argv);
      cmd = engine;
    } else {
      if (!this.warned.has(c.name)) {
        this.warned.add(c.name);
        this.warn(`no docker or podman engine answers: running the command of ${c.name} (image ${c.image}) on this host; use --containers=require to fail instead`);
      }
      if (!argv.length) return { ok: false, kind: 'invalid', outcome: 'invalid', message: `${c.name} has an empty command`, exitCode: null, signal: null };
      cmd = argv[0] as string;
      args = argv.slice(1);
    }
    const env = { ...process.env, ...req.env, CUDA_VISIBLE_DEVICES: req.gpus.join(',') };
    const o = await runGroup(cmd, args, req, env, this.graceMs);
    if (o.code !== 0 || o.killedFor || o.spawnError) {
      const bad = classify(o, req, undefined);
      if (bad) return bad.ok === false && bad.outcome === 'error' && o.code !== null && !o.signal ? { ...bad, kind: 'user', outcome: 'failed', message: `command exited with code ${o.code}: ${tail(req.logFile, 600)}` } : bad;
    }
    try {
      return { ok: true, ...readOutputFiles(req.outputsDir, c.outputs) };
    } catch (e) {
      return { ok: false, kind: 'user', outcome: 'failed', message: `could not read outputs: ${(e as Error).message}`, exitCode: 0, signal: null };
    }
  }
}
