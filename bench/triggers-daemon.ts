/**
 * Worker of bench/triggers.bench.ts: CPU of one trigger daemon serving N idle triggers with a 1 s
 * tick for S seconds. Prints one JSON line.
 *   node --import tsx bench/triggers-daemon.ts <n> <seconds> <schedule|directory> <dir>
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runPipeline } from '@sluice/runner';
import { StateStore } from '../packages/runner/src/store/state.ts';
import { dataArrival, schedule, trigger } from '../packages/triggers/src/define.ts';
import { Daemon } from '../packages/triggers/src/local/daemon.ts';
import { train } from '../packages/triggers/test/helpers.ts';

const [ns, ss, kind, dir] = process.argv.slice(2) as [string, string, string, string];
const n = Number(ns), seconds = Number(ss);
const triggers = Array.from({ length: n }, (_, i) => {
  if (kind === 'directory') mkdirSync(join(dir, 'in', String(i)), { recursive: true });
  const name = `t${i}`;
  return kind === 'directory'
    ? trigger({ name, target: train, params: () => ({ source: 'x' }), source: dataArrival.directory(join(dir, 'in', String(i)), { pattern: '*.csv' }) })
    : trigger({ name, target: train, params: () => ({ source: 'x' }), source: schedule({ cron: `${i % 60} 3 * * *`, timezone: i % 2 ? 'Europe/Berlin' : 'America/New_York' }) });
});
const d = new Daemon(triggers, { runPipeline, ensureStore: (db) => StateStore.open(db).close() }, { storeDir: join(dir, '.sluice'), tickMs: 1000 });
await d.start();
d.tick(); // the first pass writes each trigger's starting cursor
const ac = new AbortController();
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
setTimeout(() => ac.abort(), seconds * 1000);
await d.serve(ac.signal);
const cpu = process.cpuUsage(c0);
const wall = Number(process.hrtime.bigint() - t0) / 1e6;
await d.close();
process.stdout.write(JSON.stringify({ n, kind, wallMs: wall, cpuMs: (cpu.user + cpu.system) / 1000, ticks: Math.round(wall / 1000) }) + '\n');
