import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { JsonValue, SluiceIssue, StepContext, StepLogger } from '@sluice/sdk';
import type { FunctionRuntime } from './types.ts';
import { checkArtifactName } from './names.ts';
import { parseParamText, taskIdFromNodeName } from '@sluice/sdk';
import { type ArtifactInputSpec, inputArtifact, MetricsOutputImpl, OutputArtifactImpl } from './artifacts.ts';
import { FileCheckpoint } from './checkpoint.ts';
import { ExecutorError } from './errors.ts';
import { StepExit, trapExit } from './exit.ts';
import { outputNotWritten } from './contract.ts';
import { LineClock } from './log-times.ts';
import { stepTracking } from './tracking.ts';

export { EXIT, outputNotWritten } from './contract.ts';

/** Everything one attempt of a function step needs. Serialised to JSON for a child process. */
export interface StepSpec {
  readonly component: string;
  readonly task: string;
  readonly runId: string;
  readonly attempt: number;
  /** Raw text: a `string` parameter as is, every other type JSON; `sluice:b64:` prefixes are decoded. */
  readonly params: { readonly [name: string]: string };
  readonly artifacts: { readonly [name: string]: ArtifactInputSpec | readonly ArtifactInputSpec[] };
  readonly outputsDir: string;
  readonly checkpointDir?: string;
  readonly checkpointKeep?: number;
  readonly gpus?: readonly string[];
  /** In-process only: where `ctx.log` appends (a child writes to its stderr, which the runner captures). */
  readonly logFile?: string;
}

export type StepResult =
  | { readonly status: 'succeeded'; readonly params: { readonly [name: string]: JsonValue }; readonly artifacts: { readonly [name: string]: { readonly path: string; readonly metadata: { readonly [key: string]: JsonValue } } } }
  | { readonly status: 'failed' | 'invalid' | 'nonretryable' | 'preempted'; readonly message: string; readonly stack?: string; readonly issues?: readonly SluiceIssue[] };

export interface StepControl {
  /** Aborted with reason `'preempted'` or `'timeout'` (or anything else) to ask the step to stop. */
  readonly signal?: AbortSignal;
  /**
   * The step has a process of its own (`sluice exec`, a warm worker, a pod): its `process.exit`
   * ends that process, and the runner reads what it wrote. Otherwise (in-process) a
   * `process.exit(code)` inside the step ends the attempt instead of the runner. @default false
   */
  readonly ownProcess?: boolean;
  /** In-process only: the step's own environment on top of the process's (a child gets it as its real environment). */
  readonly env?: { readonly [name: string]: string };
}



const NEVER = new AbortController().signal;

function issuesText(issues: readonly SluiceIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}

function makeLogger(logFile: string | undefined): Pick<StepLogger, 'info' | 'warn' | 'error'> {
  // in-process, nothing else creates the log's directory (a child's log is opened by the runner)
  if (logFile) mkdirSync(dirname(logFile), { recursive: true });
  const clock = logFile ? new LineClock(logFile) : undefined;
  const write = (level: string, message: string, fields?: { readonly [key: string]: JsonValue }) => {
    const line = `[${level}] ${message}${fields && Object.keys(fields).length ? ' ' + JSON.stringify(fields) : ''}\n`;
    if (logFile) {
      const at = existsSync(logFile) ? statSync(logFile).size : 0;
      appendFileSync(logFile, line);
      clock?.note(at, line);
    } else process.stderr.write(line);
  };
  return { info: (m, f) => write('info', m, f), warn: (m, f) => write('warn', m, f), error: (m, f) => write('error', m, f) };
}

/**
 * Runs one attempt of a function component: decodes and validates its inputs (invalid inputs are
 * never retried), gives it a context, runs it, validates its outputs. The same function runs in an
 * Argo pod (`sluice exec`), in a local child process and in-process.
 */
export async function executeStep(runtime: FunctionRuntime, spec: StepSpec, control: StepControl = {}): Promise<StepResult> {
  const ir = runtime.ir;
  const base = spec.task;
  const path = `${base}/inputs`;
  const raw: Record<string, unknown> = {};
  const issues: SluiceIssue[] = [];
  for (const [name, text] of Object.entries(spec.params)) {
    const io = ir.inputs[name];
    if (!io || io.kind !== 'parameter') {
      issues.push({ code: 'input.unknown', path: `${path}.${name}`, message: `no parameter input "${name}" on component ${ir.name}` });
      continue;
    }
    const decoded = text;
    {
      try {
        raw[name] = parseParamText(decoded, io);
      } catch {
        issues.push({ code: 'input.json', path: `${path}.${name}`, message: `expected JSON for a ${io.type} parameter, got ${JSON.stringify(decoded.slice(0, 80))}` });
      }
    }
  }
  for (const [name, a] of Object.entries(spec.artifacts)) {
    const io = ir.inputs[name];
    if (!io || io.kind !== 'artifact') {
      issues.push({ code: 'input.unknown', path: `${path}.${name}`, message: `no artifact input "${name}" on component ${ir.name}` });
      continue;
    }
    raw[name] = Array.isArray(a) ? (a as readonly ArtifactInputSpec[]).map(inputArtifact) : inputArtifact(a as ArtifactInputSpec);
  }
  if (issues.length) return { status: 'invalid', message: issuesText(issues), issues };
  const parsed = runtime.parseInputs(raw, base);
  if (!parsed.ok) return { status: 'invalid', message: issuesText(parsed.issues), issues: parsed.issues };

  const outputs: Record<string, OutputArtifactImpl> = {};
  for (const [name, io] of Object.entries(ir.outputs)) {
    if (io.kind !== 'artifact') continue;
    const p = join(spec.outputsDir, 'artifacts', checkArtifactName(name, 'output name'));
    outputs[name] = io.artifactType === 'Metrics' ? new MetricsOutputImpl(p) : new OutputArtifactImpl(io.artifactType, p);
  }

  const signal = control.signal ?? NEVER;
  let tmp: string | undefined;
  let checkpoint: FileCheckpoint | undefined;
  let log: StepLogger | undefined;
  const tracking = stepTracking(spec.outputsDir, spec.runId, spec.task, control.env ? { ...process.env, ...control.env } : process.env);
  for (const h of Object.values(outputs)) if (h instanceof MetricsOutputImpl) h.onLog = (name, value) => tracking.log.metric(name, value);
  const ctx: StepContext<Record<string, unknown>> = {
    outputs,
    get checkpoint() {
      checkpoint ??= new FileCheckpoint(spec.checkpointDir ?? join(spec.outputsDir, '..', 'checkpoints'), spec.checkpointKeep ?? 3);
      return checkpoint;
    },
    signal,
    get log() {
      log ??= { ...makeLogger(spec.logFile), ...tracking.log };
      return log;
    },
    models: tracking.models,
    attempt: spec.attempt,
    runId: spec.runId,
    // In a pod `--task` is Argo's node name; the step sees the IR task id in both places.
    taskId: taskIdFromNodeName(spec.task),
    gpus: spec.gpus ?? [],
    get tmpDir() {
      tmp ??= mkdtempSync(join(tmpdir(), 'sluice-step-'));
      return tmp;
    },
  };
  let returned: Record<string, unknown> | void = undefined;
  let exited: number | undefined;
  try {
    returned = await (control.ownProcess ? runtime.run(parsed.values, ctx) : trapExit(() => runtime.run(parsed.values, ctx)));
  } catch (e) {
    if (e instanceof StepExit && e.exitCode === 0) exited = 0;
    else if (e instanceof StepExit) return { status: 'failed', message: `the step called process.exit(${e.exitCode}) (in-process, the attempt ends instead of the runner)` };
    else {
    const err = e instanceof Error ? e : new Error(String(e));
    const nonRetryable = typeof e === 'object' && e !== null && (e as { nonRetryable?: unknown }).nonRetryable === true;
    const status = nonRetryable ? 'nonretryable' : signal.aborted && signal.reason === 'preempted' ? 'preempted' : 'failed';
    return { status, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
    }
  } finally {
    tracking.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }

  const paramValues: Record<string, unknown> = {};
  for (const [name, io] of Object.entries(ir.outputs)) {
    if (io.kind === 'parameter' && returned && name in returned) paramValues[name] = returned[name];
  }
  const out = runtime.parseOutputs(paramValues, base);
  if (!out.ok) return { status: 'failed', message: `step returned invalid outputs: ${issuesText(out.issues)}`, issues: out.issues };
  const params: Record<string, JsonValue> = {};
  for (const [name, io] of Object.entries(ir.outputs)) {
    if (io.kind !== 'parameter') continue;
    const v = out.values[name];
    if (v === undefined) {
      if (!io.optional) return { status: 'failed', message: outputNotWritten(name, exited === 0 ? 'the step called process.exit(0) before returning it' : 'run() did not return it') };
      continue;
    }
    params[name] = v as JsonValue;
  }
  const artifacts: Record<string, { path: string; metadata: { [key: string]: JsonValue } }> = {};
  for (const [name, h] of Object.entries(outputs)) {
    if (h instanceof MetricsOutputImpl && !h.written) await h.writeJson(h.values);
    if (!existsSync(h.path)) {
      if ((ir.outputs[name] as { optional?: boolean }).optional) continue;
      return { status: 'failed', message: outputNotWritten(name, `${exited === 0 ? 'the step called process.exit(0) first; ' : ''}expected a file or directory at ${h.path}`) };
    }
    artifacts[name] = { path: h.path, metadata: { ...h.metadata } };
  }
  return { status: 'succeeded', params, artifacts };
}

/**
 * Reads the outputs a step wrote with the file layout of the contract (used for child processes
 * and containers). A declared output that is not optional and was not written is an error (code
 * `output.missing`), as Argo fails a pod that exits 0 without a declared output file.
 */
export function readOutputFiles(outputsDir: string, outputs: FunctionRuntimeOutputs): { params: Record<string, JsonValue>; artifacts: Record<string, { path: string; metadata: { [key: string]: JsonValue } }> } {
  const params: Record<string, JsonValue> = {};
  const artifacts: Record<string, { path: string; metadata: { [key: string]: JsonValue } }> = {};
  for (const [name, io] of Object.entries(outputs)) {
    checkArtifactName(name, 'output name');
    if (io.kind === 'parameter') {
      const f = join(outputsDir, 'parameters', name);
      if (!existsSync(f)) {
        if (io.optional) continue;
        throw new ExecutorError('output.missing', outputNotWritten(name, `expected a file at ${f}`));
      }
      const text = readFileSync(f, 'utf8');
      params[name] = io.type === 'string' ? text : (JSON.parse(text) as JsonValue);
    } else {
      const p = join(outputsDir, 'artifacts', name);
      if (!existsSync(p)) {
        if (io.optional) continue;
        throw new ExecutorError('output.missing', outputNotWritten(name, `expected a file or directory at ${p}`));
      }
      const metaFile = `${p}.meta.json`;
      artifacts[name] = { path: p, metadata: existsSync(metaFile) ? (JSON.parse(readFileSync(metaFile, 'utf8')) as { [key: string]: JsonValue }) : {} };
    }
  }
  return { params, artifacts };
}

export type FunctionRuntimeOutputs = FunctionRuntime['ir']['outputs'];
