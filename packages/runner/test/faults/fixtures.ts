// Pipelines for the fault suite (hand-built IR, loaded by the real `sluice` binary).
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import type { LoopIR } from '@sluice/sdk';
import { fn, item, lit, out, pipeline, task } from '../helpers.ts';

const mark = (what: string) => {
  if (process.env.SLUICE_TEST_MARKS) appendFileSync(process.env.SLUICE_TEST_MARKS, `${what} ${Date.now()}\n`);
};

/** Starts a child process of its own (same process group), records both pids, then waits for ever. */
const spawner = fn('spawner', { outputs: { ok: 'boolean' } }, async () => {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  appendFileSync(process.env.SLUICE_TEST_PIDS as string, `${process.pid}\n${child.pid}\n`);
  await new Promise((r) => setTimeout(r, 600_000));
  return { ok: true };
});
export const orphans = pipeline('orphans', [spawner], [task('s', spawner, {})]);

/** Holds one GPU for a while and marks when it had it. */
const gpuStep = fn('gpu', { inputs: { i: 'number' }, outputs: { visible: 'string' } }, async (_i, ctx) => {
  mark(`${ctx.runId} start ${process.env.CUDA_VISIBLE_DEVICES}`);
  await new Promise((r) => setTimeout(r, Number(process.env.SLUICE_TEST_STEP_MS ?? 1500)));
  mark(`${ctx.runId} end ${process.env.CUDA_VISIBLE_DEVICES}`);
  return { visible: process.env.CUDA_VISIBLE_DEVICES ?? '' };
});
export const gpu = pipeline('gpu', [gpuStep], [task('g', gpuStep, { i: lit(0) }, [], { resources: { gpu: { count: 1 } } })]);

/** Writes `SLUICE_TEST_LOG_MB` MiB to its stdout. */
const chatty = fn('chatty', { outputs: { n: 'number' } }, async () => {
  const mb = Number(process.env.SLUICE_TEST_LOG_MB ?? 8);
  const line = `${'x'.repeat(1023)}\n`.repeat(1024);
  for (let i = 0; i < mb; i++) process.stdout.write(line);
  await new Promise((r) => setTimeout(r, 200));
  return { n: mb };
});
export const noisy = pipeline('noisy', [chatty], [task('c', chatty, {})]);

/** A producer of a file artifact, and a consumer that writes into its input (the stored object). */
const produce = fn('produce', { outputs: { data: 'artifact:Dataset' } }, async (_i, ctx) => {
  writeFileSync((ctx.outputs.data as { path: string }).path, 'right bytes');
});
const tamper = fn('tamper', { inputs: { data: 'artifact:Dataset' }, outputs: { seen: 'string' } }, async (i) => {
  const path = (i.data as { path: string }).path;
  const seen = readFileSync(path, 'utf8');
  if (process.env.SLUICE_TEST_TAMPER === '1') {
    try { writeFileSync(path, 'WRONG bytes'); } catch (e) { return { seen: `refused: ${(e as NodeJS.ErrnoException).code}` }; }
  }
  return { seen };
});
export const cas = pipeline('cas', [produce, tamper], [task('p', produce, {}), task('t', tamper, { data: out('p', 'data') })], { outputValues: { seen: out('t', 'seen'), data: out('p', 'data') } });

/** Stores `SLUICE_TEST_BYTES` as a file artifact (the same bytes as an object already in the store: reused by its hash). */
const store = fn('store', { outputs: { data: 'artifact:Dataset' } }, async (_i, ctx) => {
  writeFileSync((ctx.outputs.data as { path: string }).path, process.env.SLUICE_TEST_BYTES ?? '');
});
export const leftover = pipeline('leftover', [store], [task('p', store, {})], { outputValues: { data: out('p', 'data') } });

/** Steps that each take a little time: a run with many events. */
const nap = fn('nap', { inputs: { i: 'number' }, outputs: { i: 'number' } }, async (i) => {
  await new Promise((r) => setTimeout(r, 100));
  return { i: i.i };
});
export const naps = pipeline('naps', [nap], [0, 1, 2, 3, 4, 5].map((k) => task(`n${k}`, nap, { i: lit(k) }, k ? [`n${k - 1}`] : [])));

/** Stops promptly and successfully when asked to (SIGTERM aborts ctx.signal): a finished step, not an interrupted one. */
const polite = fn('polite', { outputs: { stopped: 'boolean' } }, async (_i, ctx) => {
  appendFileSync(process.env.SLUICE_TEST_PIDS as string, `${process.pid}\n`);
  await new Promise<void>((r) => {
    const t = setTimeout(r, 600_000);
    ctx.signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
  });
  mark('polite done');
  return { stopped: ctx.signal.aborted };
});
export const graceful = pipeline('graceful', [polite], [task('p', polite, {})], { outputValues: { stopped: out('p', 'stopped') } });

/** Twenty loop iterations of a task whose name is wider than a small terminal. */
const slowly = fn('slowly', { inputs: { i: 'number' }, outputs: { i: 'number' } }, async (i) => {
  await new Promise((r) => setTimeout(r, Number(process.env.SLUICE_TEST_STEP_MS ?? 400)));
  return { i: i.i };
});
const wideLoop: LoopIR = {
  kind: 'loop', id: 'sweep', items: lit(Array.from({ length: 20 }, (_, k) => k)), after: [], parallelism: 3,
  body: [task('a-task-with-a-name-far-too-long-for-a-small-terminal-window', slowly, { i: item('sweep') })],
};
export const wide = pipeline('wide', [slowly], [wideLoop]);

/** Two lines on stdout 300 ms apart, then a ctx.log line (per-line log times). */
const talker = fn('talker', { outputs: { n: 'number' } }, async (_i, ctx) => {
  process.stdout.write('first line\n');
  await new Promise((r) => setTimeout(r, 300));
  process.stdout.write('second line, written ');
  process.stdout.write('in two writes\n');
  ctx.log.info('from ctx.log');
  return { n: 1 };
});
export const talk = pipeline('talk', [talker], [task('t', talker, {})]);
