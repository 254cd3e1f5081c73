import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPipelineFile } from './load.ts';
import type { LoadedPipeline } from './types.ts';
import { type ExecArgs, runExec, watchParent } from './main.ts';
import { EXIT, type StepSpec } from './step.ts';

import { STEP_END } from './contract.ts';
export { STEP_END };

/** One step for a warm worker: the flags `sluice exec` would get, the spec, and the step's own environment. */
export interface WorkerRequest {
  readonly type: 'step';
  readonly args: ExecArgs;
  readonly spec: StepSpec & { readonly componentName?: string };
  readonly env: { readonly [name: string]: string };
}

export interface WorkerDone {
  readonly type: 'done';
  /** The exit code `sluice exec` would have returned. */
  readonly code: number;
}

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

/** Sets a step's environment; returns what undoes it (including whatever the step itself changed). */
function applyEnv(env: { readonly [name: string]: string }): () => void {
  const saved = { ...process.env };
  const cwd = process.cwd();
  Object.assign(process.env, env);
  return () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    for (const [k, v] of Object.entries(saved)) if (process.env[k] !== v) process.env[k] = v;
    if (process.cwd() !== cwd) process.chdir(cwd);
  };
}

/**
 * A worker's stdout and stderr are pipes to the runner, which libuv makes non-blocking: a step's
 * `fs.writeSync(1, bigBuffer)` would then write part of it or fail with EAGAIN, where in a fresh
 * process or a pod (a file) it blocks until written. Make them block, as a file does.
 */
export function blockingStdio(): void {
  for (const s of [process.stdout, process.stderr]) {
    const handle = (s as unknown as { _handle?: { setBlocking?: (on: boolean) => number } })._handle;
    handle?.setBlocking?.(true);
  }
}

/**
 * `sluice exec --worker --entry <file> [--export <name>]`: a warm executor for the local runner.
 * Loads the pipeline once, then runs the steps it is sent over IPC one at a time through the same
 * `runExec`/`executeStep` as `sluice exec`, each with its own environment (restored afterwards).
 * SIGTERM stops the running step as `sluice exec` would (grace period, exit 143); the worker then
 * exits. A crash ends the worker; the runner classifies it and starts another.
 */
export async function workerMain(argv: readonly string[]): Promise<number> {
  let entry: string | undefined;
  let exportName: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--entry') entry = argv[++i];
    else if (argv[i] === '--export') exportName = argv[++i];
  }
  if (!entry || !process.send) {
    process.stderr.write('sluice exec --worker: needs --entry and an IPC channel (it is started by the local runner)\n');
    return EXIT.invalid;
  }
  blockingStdio();
  const grace = Number(process.env.SLUICE_GRACE_MS ?? 10_000);
  let current: { readonly ac: AbortController; readonly outputs: string } | undefined;
  let stopping = false;
  process.once('SIGTERM', () => {
    stopping = true;
    if (!current) process.exit(EXIT.preempted);
    current.ac.abort('preempted');
    const outputs = current.outputs;
    setTimeout(() => {
      try {
        writeFileSync(join(outputs, 'error.json'), JSON.stringify({ status: 'preempted', message: `terminated (SIGTERM); no exit within the ${grace} ms grace period` }));
      } catch { /* outputs dir may not exist */ }
      process.exit(EXIT.preempted);
    }, grace).unref();
  });
  watchParent(() => stopping);
  process.on('disconnect', () => {
    if (!current) process.exit(0);
    else if (!stopping) process.kill(process.pid, 'SIGTERM');
  });
  const file = entry;
  const loading: Promise<LoadedPipeline | Error> = loadPipelineFile(file, exportName).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  let queue = Promise.resolve();
  const handle = async (m: WorkerRequest): Promise<void> => {
    const loaded = await loading;
    if (loaded instanceof Error) {
      process.stderr.write(`sluice exec: cannot load ${file}: ${loaded.stack ?? loaded}\n`);
      process.exit(EXIT.failed);
    }
    // the runner counts the step's timeout from here (not from the worker's boot)
    process.send?.({ type: 'started' });
    const restore = applyEnv(m.env);
    const ac = new AbortController();
    current = { ac, outputs: m.args.outputs };
    let code: number;
    try {
      code = await runExec(m.args, m.spec, { loaded, signal: ac.signal, preempted: () => stopping });
    } finally {
      restore();
      current = undefined;
    }
    await write(process.stdout, STEP_END);
    await write(process.stderr, STEP_END);
    const done: WorkerDone = { type: 'done', code };
    await new Promise<void>((resolve) => process.send?.(done, undefined, {}, () => resolve()));
    if (stopping || code === EXIT.preempted) process.exit(code);
  };
  process.on('message', (m: WorkerRequest) => {
    if (m?.type === 'step') queue = queue.then(() => handle(m));
  });
  return new Promise<number>(() => {}); // lives until the runner ends it
}
