import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArgIR, ComponentIR, ContainerComponentIR, JsonValue } from '@sluice/sdk';
import type { ArtifactInputSpec } from '../executor/artifacts.ts';
import { EXIT, executeStep, readOutputFiles, type StepResult, type StepSpec } from '../executor/step.ts';
import type { AttemptOutcome } from '../store/state.ts';
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
}

export type AttemptResult =
  | { readonly ok: true; readonly params: { readonly [name: string]: JsonValue }; readonly artifacts: { readonly [name: string]: { readonly path: string; readonly metadata: { readonly [key: string]: JsonValue } } } }
  | { readonly ok: false; readonly kind: FailureKind; readonly outcome: AttemptOutcome; readonly message: string; readonly exitCode: number | null; readonly signal: string | null };

export interface Launcher {
  run(req: AttemptRequest): Promise<AttemptResult>;
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
    if (req.timeoutMs === undefined) {
      try {
        return fromStep(await executeStep(runtime, stepSpec(req, runtime.ir.inputs, req.logFile), { signal: req.signal }));
      } catch (e) {
        return { ok: false, kind: 'system', outcome: 'error', message: `executor error: ${(e as Error).stack ?? e}`, exitCode: null, signal: null };
      }
    }
    const ac = new AbortController();
    const onStop = () => ac.abort(req.signal.reason);
    req.signal.addEventListener('abort', onStop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const step = executeStep(runtime, stepSpec(req, runtime.ir.inputs, req.logFile), { signal: ac.signal });
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

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch { /* already gone */ }
}

function tail(file: string, n = 2000): string {
  try {
    const t = readFileSync(file, 'utf8');
    return t.slice(-n).trim();
  } catch {
    return '';
  }
}

interface ChildOutcome { code: number | null; signal: NodeJS.Signals | null; killedFor: 'timeout' | 'preempted' | undefined; spawnError?: Error }

/** Spawns a command in its own process group, with timeout and stop handling that reach the whole tree. */
function runGroup(cmd: string, args: readonly string[], req: AttemptRequest, env: NodeJS.ProcessEnv, graceMs: number): Promise<ChildOutcome> {
  mkdirSync(dirname(req.logFile), { recursive: true });
  const fd = openSync(req.logFile, 'a');
  return new Promise((resolve) => {
    let killedFor: ChildOutcome['killedFor'];
    let child;
    try {
      child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env });
    } catch (e) {
      closeSync(fd);
      return resolve({ code: null, signal: null, killedFor, spawnError: e as Error });
    }
    const pid = child.pid;
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
  if (o.killedFor === 'preempted' || o.code === EXIT.preempted) return { ok: false, kind: 'preempted', outcome: 'preempted', message: reported && reported.status !== 'succeeded' ? reported.message : 'terminated (SIGTERM)', ...base };
  if (o.code === 0) return undefined;
  if (reported && reported.status !== 'succeeded' && (o.code === EXIT.failed || o.code === EXIT.invalid || o.code === EXIT.nonretryable)) return fromStep(reported, o.code);
  const log = tail(req.logFile, 4000);
  if (o.code === 134 || /heap out of memory|ENOMEM|Cannot allocate memory/.test(log)) return { ok: false, kind: 'system', outcome: 'error', message: `out of memory (${o.signal ?? `exit ${o.code}`})`, ...base };
  if (o.signal) return { ok: false, kind: 'system', outcome: 'error', message: `killed by ${o.signal}${o.signal === 'SIGKILL' ? ' (out of memory, or killed from outside)' : ''}`, ...base };
  if (o.code === EXIT.failed && !errorFile) return { ok: false, kind: 'user', outcome: 'failed', message: `exited with code 1: ${log.split('\n').slice(-3).join(' | ')}`, ...base };
  return { ok: false, kind: 'system', outcome: 'error', message: `the step's process exited with code ${o.code} (crash or process.exit)${log ? `: ${log.split('\n').slice(-3).join(' | ')}` : ''}`, ...base };
}

/**
 * Runs each attempt of a function step in a child process through `sluice exec` (the entry point
 * of Argo pods), in its own process group: a crash, `process.exit` or out-of-memory in the step
 * cannot take the runner down, and a timeout kills the whole tree.
 */
export class ProcessLauncher implements Launcher {
  constructor(private readonly entry: string, private readonly exportName: string | undefined, private readonly graceMs: number) {}
  async run(req: AttemptRequest): Promise<AttemptResult> {
    mkdirSync(req.outputsDir, { recursive: true });
    const specFile = join(dirname(req.outputsDir), 'spec.json');
    const inputs = req.component.inputs;
    writeFileSync(specFile, JSON.stringify({ ...stepSpec(req, inputs), componentName: req.component.name, entry: this.entry, ...(this.exportName ? { exportName: this.exportName } : {}) }));
    const env: NodeJS.ProcessEnv = {
      ...process.env, ...req.env,
      SLUICE_RUN_ID: req.runId, SLUICE_ATTEMPT: String(req.attempt), SLUICE_PARENT_PID: String(process.pid),
      SLUICE_GRACE_MS: String(this.graceMs),
      CUDA_VISIBLE_DEVICES: req.gpus.join(','),
    };
    const o = await runGroup(process.execPath, [BIN, 'exec', '--spec', specFile], req, env, this.graceMs + 2000);
    const bad = classify(o, req, join(req.outputsDir, 'error.json'));
    if (bad) return bad;
    try {
      const r = readOutputFiles(req.outputsDir, req.component.outputs);
      return { ok: true, ...r };
    } catch (e) {
      return { ok: false, kind: 'user', outcome: 'failed', message: `could not read the step's outputs: ${(e as Error).message}`, exitCode: 0, signal: null };
    }
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

function renderArg(a: ArgIR, req: AttemptRequest, paths: (kind: 'in' | 'out', name: string) => string): string {
  switch (a.kind) {
    case 'literal': return a.value;
    case 'inputValue': {
      const v = req.inputs[a.input] ?? (req.component.inputs[a.input]?.kind === 'parameter' ? (req.component.inputs[a.input] as { default?: JsonValue }).default : undefined);
      return typeof v === 'string' ? v : JSON.stringify(v ?? null);
    }
    case 'inputPath': return paths('in', a.input);
    case 'outputPath': return paths('out', a.output);
    case 'concat': return a.parts.map((p) => renderArg(p, req, paths)).join('');
  }
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
    const paths = (kind: 'in' | 'out', name: string): string => {
      if (kind === 'in') {
        const v = req.inputs[name];
        if (isArtifactRef(v)) return v.path;
        throw new Error(`inputPath ${name} is not an artifact`);
      }
      const io = c.outputs[name];
      const p = join(req.outputsDir, io?.kind === 'parameter' ? 'parameters' : 'artifacts', name);
      mkdirSync(dirname(p), { recursive: true });
      return p;
    };
    let argv: string[];
    try {
      argv = c.command.map((a) => renderArg(a, req, paths));
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
