import { stampStdio } from './log-times.ts';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonValue } from '@sluice/sdk';
import { loadPipelineFile } from './load.ts';
import { loadErrorText } from './errors.ts';
import type { FunctionRuntime, LoadedPipeline } from './types.ts';
import { checkArtifactName } from './names.ts';
import type { ArtifactInputSpec } from './artifacts.ts';
import { EXIT, executeStep, type StepResult, type StepSpec } from './step.ts';
import { podTrackingRefusal, sendPodTracking } from './tracking.ts';
import { ARTIFACT_ORDER_FLAG, CollectError, resolveCollectedArtifacts } from './collect.ts';
import { decodeBase64, OUTPUT_LAYOUT } from '@sluice/sdk';
import { contentHash } from './content-hash.ts';

/** Arguments of `sluice exec` (see ARCHITECTURE.md, "The executor contract"). */
export interface ExecArgs {
  entry: string;
  exportName?: string;
  component: string;
  /** The component's name, to tell a code difference from a wrong hash (optional; compiled manifests may pass it). */
  componentName?: string;
  task: string;
  params: Record<string, string>;
  artifacts: Record<string, string[]>;
  /** `--artifact-order name=<JSON list>`: a collected input's directory entries in item order (Argo fan-in). */
  artifactOrders: string[];
  outputs: string;
  runId?: string;
  /** The attempt number (`--attempt n`, or `--retries n` as Argo's `{{retries}}`: attempt n + 1). */
  attempt?: number;
  checkpointDir?: string;
  /** Local runner: a JSON StepSpec file replacing the per-input flags. */
  spec?: string;
  /** Grace period after SIGTERM before giving up, in ms. @default 10000 */
  graceMs?: number;
}

function usage(msg: string): never {
  process.stderr.write(`sluice exec: ${msg}\nusage: sluice exec --entry <file> [--export <name>] --component <hash> [--component-name <name>] --task <id> [--param name=value]... [--param-b64 name=<base64>]... [--artifact name=<path>]... [--artifact-order name=<json list>]... --outputs <dir> [--run-id <id>] [--attempt <n> | --retries <n>] [--checkpoint-dir <dir>] [--spec <file>] [--grace <ms>]\n`);
  process.exit(EXIT.invalid);
}

export function parseExecArgs(argv: readonly string[]): ExecArgs {
  const a: Partial<ExecArgs> & { params: Record<string, string>; artifacts: Record<string, string[]>; artifactOrders: string[] } = { params: {}, artifacts: {}, artifactOrders: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const eq = flag.indexOf('=');
    const [name, inline] = flag.startsWith('--') && eq > 0 ? [flag.slice(0, eq), flag.slice(eq + 1)] : [flag, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) usage(`${name} needs a value`);
      return v;
    };
    const pair = (): [string, string] => {
      const v = value();
      const j = v.indexOf('=');
      if (j <= 0) usage(`${name} expects name=value, got "${v}"`);
      return [v.slice(0, j), v.slice(j + 1)];
    };
    switch (name) {
      case '--entry': a.entry = value(); break;
      case '--export': a.exportName = value(); break;
      case '--component': a.component = value(); break;
      case '--task': a.task = value(); break;
      case '--component-name': a.componentName = value(); break;
      case '--outputs': a.outputs = value(); break;
      case '--run-id': a.runId = value(); break;
      case '--checkpoint-dir': a.checkpointDir = value(); break;
      case '--spec': a.spec = value(); break;
      case '--grace': a.graceMs = Number(value()); break;
      case '--param': { const [k, v] = pair(); a.params[k] = v; break; }
      case '--param-b64': {
        const [k, v] = pair();
        try { a.params[k] = decodeBase64(v); } catch { usage(`--param-b64 ${k}: the value is not base64`); }
        break;
      }
      case '--attempt': a.attempt = Number(value()); break;
      case '--retries': a.attempt = Number(value()) + 1; break;
      case '--artifact': { const [k, v] = pair(); (a.artifacts[k] ??= []).push(v); break; }
      case ARTIFACT_ORDER_FLAG: a.artifactOrders.push(value()); break;
      default: usage(`unknown argument "${flag}"`);
    }
  }
  if (a.spec) {
    const s = JSON.parse(readFileSync(a.spec, 'utf8')) as StepSpec & { entry: string; exportName?: string };
    a.entry ??= s.entry;
    if (s.exportName !== undefined) a.exportName ??= s.exportName;
    a.component ??= s.component;
    a.task ??= s.task;
    a.outputs ??= s.outputsDir;
  }
  for (const k of ['entry', 'component', 'task', 'outputs'] as const) if (!a[k]) usage(`--${k} is required`);
  return a as ExecArgs;
}

function readMeta(path: string): { [key: string]: JsonValue } {
  const f = `${path}.meta.json`;
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { [key: string]: JsonValue }) : {};
}

/** Writes a step's result with the contract's file layout and returns the exit code. */
export function writeResult(outputsDir: string, result: StepResult, stringOutputs: ReadonlySet<string>): number {
  mkdirSync(outputsDir, { recursive: true });
  if (result.status !== 'succeeded') {
    writeFileSync(join(outputsDir, 'error.json'), JSON.stringify(result));
    process.stderr.write(`${result.status === 'invalid' ? 'invalid inputs' : result.status}: ${result.stack ?? result.message}\n`);
    return EXIT[result.status];
  }
  if (Object.keys(result.params).length) mkdirSync(join(outputsDir, 'parameters'), { recursive: true });
  for (const [name, v] of Object.entries(result.params)) {
    checkArtifactName(name, 'output name');
    writeFileSync(join(outputsDir, 'parameters', name), stringOutputs.has(name) && typeof v === 'string' ? v : JSON.stringify(v));
  }
  for (const [name, a] of Object.entries(result.artifacts)) writeFileSync(`${join(outputsDir, 'artifacts', checkArtifactName(name, 'output name'))}.meta.json`, JSON.stringify(a.metadata));
  return EXIT.succeeded;
}

/**
 * Finds the function component an exec names. Component hashes include the code hash of `run` as
 * loaded, which differs between transpilers and between the image and the compiled tree, so a
 * miss says which components there are and, when one has the task's component name, that the
 * code differs from the compiled one.
 */
export function findRuntime(loaded: LoadedPipeline, entry: string, hash: string, componentName: string | undefined, task: string, byNameOk = false): { runtime: FunctionRuntime } | { error: string } {
  const exact = loaded.runtimes.get(hash);
  if (exact) return { runtime: exact };
  const all = [...loaded.runtimes.values()];
  // the compiled node name (`wf.dag.train(1)`) ends with the task id, which is often the component's name
  const fromTask = task.replace(/\(\d+\)$/, '').split('.').pop();
  const name = componentName ?? (fromTask && all.some((r) => r.ir.name === fromTask) ? fromTask : undefined);
  const byName = name === undefined ? [] : all.filter((r) => r.ir.name === name);
  // The local runner's IR may come from another TypeScript transform (a test runner), whose source
  // text changes the code hash; there (only) a unique name identifies the component. In a pod a
  // different hash means different code, which must not run silently.
  if (byNameOk && componentName !== undefined && byName.length === 1) return { runtime: byName[0] as FunctionRuntime };
  const known = all.map((r) => `  ${r.ir.name} ${r.hash}`).join('\n') || '  (none)';
  const lines = [`sluice exec: ${entry} has no function component ${hash}${componentName ? ` (${componentName})` : ''}; its function components are:\n${known}`];
  if (byName.length)
    lines.push(`component ${name} is here as ${byName.map((r) => r.hash).join(', ')}: the code in this image or working tree differs from the code that was compiled (the hash covers the source of run() as loaded). Rebuild the image from the compiled tree, or recompile with the sluice CLI (\`sluice compile\`, which loads the pipeline with the executor's own loader).`);
  else lines.push('was the workflow compiled from a different version of the pipeline? Recompile it with `sluice compile` and rebuild the image.');
  return { error: lines.join('\n') };
}

/** What a run of the executor needs besides its flags: the loaded pipeline and a stop signal. */
export interface ExecContext {
  readonly loaded: LoadedPipeline;
  readonly signal: AbortSignal;
  /** True once the process was asked to stop (SIGTERM): a failure then counts as preemption. */
  readonly preempted: () => boolean;
}

/**
 * Runs one step as `sluice exec` does, given its flags (and `--spec`) and an already loaded
 * pipeline: finds the component, builds the step spec, runs `executeStep`, writes the contract's
 * files. Returns the exit code. Shared by `sluice exec` and the local runner's warm workers.
 */
export async function runExec(args: ExecArgs, fromSpec: (StepSpec & { componentName?: string }) | undefined, x: ExecContext): Promise<number> {
  const found = findRuntime(x.loaded, args.entry, args.component, args.componentName ?? fromSpec?.componentName, args.task, args.componentName === undefined && fromSpec?.componentName !== undefined);
  if ('error' in found) {
    process.stderr.write(`${found.error}\n`);
    try {
      mkdirSync(args.outputs, { recursive: true });
      writeFileSync(join(args.outputs, 'error.json'), JSON.stringify({ status: 'invalid', message: found.error.replace(/^sluice exec: /, '') }));
    } catch { /* outputs dir not writable: the message is on stderr */ }
    return EXIT.invalid;
  }
  const runtime = found.runtime;
  // Argo fan-in: a collected input arrives as one directory plus its entries' order.
  let artifactPaths: Record<string, string[]>;
  try {
    artifactPaths = resolveCollectedArtifacts(args.artifacts, args.artifactOrders);
  } catch (e) {
    if (!(e instanceof CollectError)) throw e;
    process.stderr.write(`sluice exec: ${e.message}\n`);
    return writeResult(args.outputs, { status: 'invalid', message: e.message }, new Set());
  }
  const artifacts: Record<string, ArtifactInputSpec | ArtifactInputSpec[]> = { ...(fromSpec?.artifacts as Record<string, ArtifactInputSpec>) };
  for (const [name, paths] of Object.entries(artifactPaths)) {
    const io = runtime.ir.inputs[name];
    const type = io?.kind === 'artifact' ? io.artifactType : 'Artifact';
    const specs = paths.map((p) => {
      const metadata = readMeta(p);
      return { path: p, type, metadata, ...(typeof metadata.contentHash === 'string' ? { hash: metadata.contentHash } : {}) };
    });
    // A single input given several paths: an artifact chosen by a condition on Argo (one optional
    // input per branch); exactly one of them was placed, the branch that ran.
    const placed = specs.length > 1 ? specs.filter((x) => existsSync(x.path)) : specs;
    if (!(io?.kind === 'artifact' && io.list) && placed.length !== 1) {
      const message = `artifact ${name}: expected exactly one of ${paths.join(', ')} to exist (the branch of the condition that ran), found ${placed.length}`;
      process.stderr.write(`sluice exec: ${message}\n`);
      return writeResult(args.outputs, { status: 'invalid', message }, new Set());
    }
    artifacts[name] = io?.kind === 'artifact' && io.list ? specs : (placed[0] as ArtifactInputSpec);
  }
  const spec: StepSpec = {
    attempt: args.attempt ?? fromSpec?.attempt ?? Number(process.env.SLUICE_ATTEMPT ?? 1),
    runId: args.runId ?? fromSpec?.runId ?? process.env.SLUICE_RUN_ID ?? 'local',
    gpus: fromSpec?.gpus ?? (process.env.CUDA_VISIBLE_DEVICES ? process.env.CUDA_VISIBLE_DEVICES.split(',').filter(Boolean) : []),
    ...fromSpec,
    component: args.component,
    task: args.task,
    params: { ...fromSpec?.params, ...args.params },
    artifacts,
    outputsDir: args.outputs,
    ...(args.checkpointDir ? { checkpointDir: args.checkpointDir } : {}),
  };
  if (!fromSpec) {
    // a pod: required tracking is checked before the step runs, as a local run checks it before any step
    const refused = await podTrackingRefusal(process.env, { ...(x.loaded.ir.options.tracking ? { option: x.loaded.ir.options.tracking } : {}), pipeline: x.loaded.ir.name });
    if (refused) {
      process.stderr.write(`sluice exec: ${refused}\n`);
      return writeResult(args.outputs, { status: 'invalid', message: refused }, new Set());
    }
  }
  const result = await executeStep(runtime, spec, { signal: x.signal, ownProcess: true });
  const strings = new Set(Object.entries(runtime.ir.outputs).filter(([, io]) => io.kind === 'parameter' && io.type === 'string').map(([n]) => n));
  let final: StepResult = x.preempted() && result.status === 'failed' ? { ...result, status: 'preempted' } : result;
  if (!fromSpec) {
    // a pod: no local runner ingests the step's tracking events, so they go to MLflow from here
    try {
      const artifacts = final.status === 'succeeded' ? Object.entries(final.artifacts).map(([output, a]) => ({ output, path: a.path, type: (runtime.ir.outputs[output] as { artifactType?: string } | undefined)?.artifactType ?? 'Artifact' })) : [];
      const warning = await sendPodTracking(args.outputs, spec.runId, args.task, process.env, { ...(x.loaded.ir.options.tracking ? { option: x.loaded.ir.options.tracking } : {}), pipeline: x.loaded.ir.name, artifacts });
      if (warning) process.stderr.write(`${warning}\n`);
    } catch (e) {
      if (final.status === 'succeeded') final = { status: 'failed', message: (e as Error).message };
    }
  }
  const code = writeResult(args.outputs, final, strings);
  if (!fromSpec && final.status === 'succeeded') {
    // a pod: Argo records no content hash of an artifact, so each output's hash, size and type go
    // out as one more output parameter (declared by the compiler); the local runner hashes them itself
    const hashes: Record<string, { hash: string; size: number; type: string }> = {};
    for (const [name, a] of Object.entries(final.artifacts)) {
      if (!existsSync(a.path)) continue;
      try {
        const { hash, size } = await contentHash(a.path);
        hashes[name] = { hash, size, type: (runtime.ir.outputs[name] as { artifactType?: string } | undefined)?.artifactType ?? 'Artifact' };
      } catch (e) {
        process.stderr.write(`sluice exec: output ${name} has no content hash: ${(e as Error).message}\n`);
      }
    }
    mkdirSync(join(args.outputs, OUTPUT_LAYOUT.parameters), { recursive: true });
    writeFileSync(join(args.outputs, OUTPUT_LAYOUT.parameters, OUTPUT_LAYOUT.artifactHashes), JSON.stringify(hashes));
  }
  return code;
}

/**
 * `sluice exec`: the process that runs one function step, in a pod or as a local child process.
 * `preloaded`: the pipeline already in memory (a bundle carries it), instead of importing `--entry`.
 */
export async function execMain(argv: readonly string[], preloaded?: LoadedPipeline): Promise<number> {
  const args = parseExecArgs(argv);
  // a step in a process of its own writes its stdout/stderr straight into its log: stamp its lines
  if (process.env.SLUICE_LOG_TIMES) stampStdio(process.env.SLUICE_LOG_TIMES);
  const fromSpec = args.spec ? (JSON.parse(readFileSync(args.spec, 'utf8')) as StepSpec & { componentName?: string }) : undefined;
  const ac = new AbortController();
  const grace = args.graceMs ?? Number(process.env.SLUICE_GRACE_MS ?? 10_000);
  let preempted = false;
  process.once('SIGTERM', () => {
    preempted = true;
    ac.abort('preempted');
    setTimeout(() => {
      try {
        writeFileSync(join(args.outputs, 'error.json'), JSON.stringify({ status: 'preempted', message: `terminated (SIGTERM); no exit within the ${grace} ms grace period` }));
      } catch { /* outputs dir may not exist */ }
      process.exit(EXIT.preempted);
    }, grace).unref();
  });
  watchParent(() => preempted);
  let loaded;
  try {
    // a self-contained bundle (@sluice/bundle) hands over the pipeline it carries
    loaded = preloaded ?? (await loadPipelineFile(args.entry, args.exportName));
  } catch (e) {
    process.stderr.write(`sluice exec: ${loadErrorText(args.entry, e)}\n`);
    return EXIT.failed;
  }
  return runExec(args, fromSpec, { loaded, signal: ac.signal, preempted: () => preempted });
}

/** A local runner that dies (even by SIGKILL) must not leave its steps running: treat it as preemption. */
export function watchParent(stopping: () => boolean): void {
  const parent = Number(process.env.SLUICE_PARENT_PID);
  if (!parent) return;
  setInterval(() => {
    if (process.ppid !== parent && !stopping()) process.kill(process.pid, 'SIGTERM');
  }, 500).unref();
}
