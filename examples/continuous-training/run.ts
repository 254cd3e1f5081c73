/**
 * The continuous-training example in one command, with time compressed: every step appends 60
 * measured flowers to the stream and moves a simulated clock five minutes; the trigger daemon
 * (the real one, on a store under .sluice-ct/; the trigger's relative paths are read from there) evaluates the drift monitor at each tick, retrains
 * when the stream drifts, and the retrain's data becomes the new reference. Prints the timeline and
 * the Argo objects' kinds the same trigger compiles to.
 *
 *   pnpm tsx examples/continuous-training/run.ts [workdir]
 */
import { appendFileSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPipeline } from '@sluice/runner';
import { StateStore } from '../../packages/runner/src/store/state.ts';
import { Daemon, timeline, type Decision } from '@sluice/triggers';
import { batch, irisRows } from './stream.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

export interface Result { readonly decisions: Decision[]; readonly timeline: string; readonly store: string; readonly runs: readonly { id: string; status: string; source: string }[] }

export async function main(work = join(here, '.sluice-ct'), o: { steps?: number; driftAfter?: number; quiet?: boolean } = {}): Promise<Result> {
  rmSync(work, { recursive: true, force: true });
  const streamDir = join(work, 'stream');
  mkdirSync(streamDir, { recursive: true });
  // the reference before the first retrain: the data the example's model was first trained on
  mkdirSync(join(work, 'reference'), { recursive: true });
  copyFileSync(join(here, '../tabular-training/data/iris.csv'), join(work, 'reference', 'iris.csv'));
  // retrained models are promoted through the tabular example's gate into this store's registry
  const { irisDrift } = await import('./triggers.ts');
  const iris = irisRows(join(here, '../tabular-training/data/iris.csv'));
  let clock = Date.parse('2026-03-01T00:00:30Z');
  const store = join(work, '.sluice');
  const log = (l: string) => { if (!o.quiet) process.stdout.write(`${l}\n`); };
  const daemon = new Daemon([irisDrift], { runPipeline, ensureStore: (db) => StateStore.open(db).close() }, { storeDir: store, baseDir: work, now: () => clock, log });
  const file = join(streamDir, 'stream.csv');
  writeFileSync(file, 'time,sepal_length,sepal_width,petal_length,petal_width,species\n');
  await daemon.start();
  try {
    daemon.tick();
    for (let step = 0; step < (o.steps ?? 24); step++) {
      const t0 = clock;
      appendFileSync(file, batch(iris, step, 60, (i) => new Date(t0 + i * 5000).toISOString(), { seed: 1, driftAfter: o.driftAfter ?? 10, shift: 1.5 }).join('\n') + '\n');
      clock += 5 * 60_000;
      daemon.tick();
      await daemon.drain();
      daemon.tick(); // the finished run is fed back (run-finished)
    }
    const decisions = daemon.store.decisions('iris-drift', 1000).map((d) => ({
      trigger: d.trigger, at: d.at, kind: d.kind as Decision['kind'], reason: d.reason, evidence: JSON.parse(d.evidence), ...(d.run_id ? { runId: d.run_id } : {}),
    }));
    const runs = daemon.store.runsOf('tabular-training').map((r) => ({ id: r.id, status: r.status, source: String((JSON.parse(r.params) as { source?: unknown }).source) }));
    const text = timeline(decisions);
    log(`\n${text}`);
    return { decisions, timeline: text, store, runs };
  } finally {
    await daemon.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await main(process.argv[2] ? resolve(process.argv[2]) : undefined);
  process.stdout.write(`${r.runs.length} retrain run${r.runs.length === 1 ? '' : 's'}: ${r.runs.map((x) => `${x.id} ${x.status}`).join(', ')}\n`);
}
