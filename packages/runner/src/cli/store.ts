/** `sluice verify` and `sluice gc`: the artifact store checked in full, and objects no record refers to removed. */
import type { Command } from 'commander';
import { locateStore } from '../backend/location.ts';
import { storePaths } from '../run.ts';
import { storeFlag } from './flags.ts';
import { ArtifactStore } from '../store/cas.ts';
import { StateStore, type SweepAttempt } from '../store/state.ts';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

export async function verifyCommand(o: { store: string; remove?: boolean; json?: boolean }): Promise<number> {
  const paths = storePaths(o.store);
  const s = StateStore.open(paths.db, { readonly: true });
  try {
    const cas = new ArtifactStore(paths.artifacts);
    const bad: string[] = [];
    const all = cas.list();
    for (const h of all) if ((await cas.verify(h)) !== 'ok') bad.push(h);
    const referenced = s.referencedHashes();
    const missing = [...referenced].filter((h) => !cas.has(h)).sort();
    const removed: string[] = [];
    if (o.remove && bad.length) {
      // removed under the store's sweep, each checked again there: a run may have stored it anew meanwhile
      const w = StateStore.open(paths.db);
      const holder = `verify-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        const got = w.beginSweep(holder, Date.now());
        if (!got.ok) {
          process.stderr.write(`${sweepRefusal('run verify --remove', got)}; nothing removed\n`);
          return 1;
        }
        try {
          for (const h of bad) if ((await cas.verify(h)) === 'corrupt') { cas.remove(h); removed.push(h); }
        } finally {
          w.endSweep(holder);
        }
      } finally {
        w.close();
      }
    }
    if (o.json) process.stdout.write(JSON.stringify({ objects: all.length, corrupt: bad, missing, removed }, null, 2) + '\n');
    else {
      for (const h of bad) process.stdout.write(`corrupt  sha256:${h}  ${cas.pathOf(h)}${removed.includes(h) ? '  (removed)' : ''}\n`);
      for (const h of missing) process.stdout.write(`missing  sha256:${h}  (recorded, not in the store)\n`);
      process.stdout.write(`${all.length} object${all.length === 1 ? '' : 's'} checked: ${bad.length} corrupt, ${missing.length} missing${bad.length && !o.remove ? '; `sluice verify --remove` removes the corrupt ones (the tasks that made them run again, the cache misses)' : ''}\n`);
    }
    return bad.length ? 1 : 0;
  } finally {
    s.close();
  }
}

/** What stands in the way of a sweep, said as one line. */
function sweepRefusal(what: string, got: Exclude<SweepAttempt, { ok: true }>): string {
  if (got.sweep) return `sluice: another sluice gc (pid ${got.sweep.pid} on ${got.sweep.host}) is removing objects from this store; ${what} when it ends`;
  const ids = got.runs.map((r) => r.run_id);
  return `sluice: run${ids.length > 1 ? 's' : ''} ${ids.join(', ')} ${ids.length > 1 ? 'are' : 'is'} running and may store artifacts now; ${what} when ${ids.length > 1 ? 'they end' : 'it ends'}`;
}

/**
 * Removes the objects no record refers to. It holds the store's sweep while it reads the
 * references and removes (see `StateStore.beginSweep`): a run starting meanwhile waits for it, so
 * an object it would reuse by its hash is never removed under it.
 */
export function gcCommand(o: { store: string; dryRun?: boolean }): number {
  const paths = storePaths(o.store);
  // (a dry run only reads; a missing store is said by the read-only open)
  const s = StateStore.open(paths.db, { readonly: !!o.dryRun || !existsSync(paths.db) });
  const holder = `gc-${process.pid}-${randomBytes(4).toString('hex')}`;
  let swept = false;
  try {
    if (!o.dryRun) {
      const got = s.beginSweep(holder, Date.now());
      if (!got.ok) {
        process.stderr.write(`${sweepRefusal('run gc', got)}${got.sweep ? '' : ' (or --dry-run to see what would go)'}\n`);
        return 1;
      }
      swept = true;
    }
    const cas = new ArtifactStore(paths.artifacts);
    const keep = s.referencedHashes();
    const gone = cas.list().filter((h) => !keep.has(h));
    let beat = Date.now();
    for (const h of gone) {
      process.stdout.write(`${o.dryRun ? 'would remove' : 'removed'}  sha256:${h}\n`);
      if (o.dryRun) continue;
      cas.remove(h);
      // seen from another host sharing the store, the sweep is alive while it beats
      if (Date.now() - beat > 5000) s.beatSweep(holder, (beat = Date.now()));
    }
    process.stdout.write(`${gone.length} unreferenced object${gone.length === 1 ? '' : 's'} ${o.dryRun ? 'would be removed' : 'removed'}; ${keep.size} referenced\n`);
    return 0;
  } finally {
    if (swept) s.endSweep(holder);
    s.close();
  }
}

/** Registers `verify` and `gc`; `setCode` receives the exit code. */
export function registerStoreVerbs(program: Command, setCode: (code: number) => void): void {
  program.command('verify').description('hash every stored artifact again; report (and with --remove, delete) the ones whose content changed').option('--store <dir>', 'state directory (default: $SLUICE_STORE, else the nearest .sluice/)', storeFlag).option('--remove', 'remove corrupt objects (the tasks that made them run again)').option('--json', 'JSON output')
    .action(async (o: { store?: string; remove?: boolean; json?: boolean }) => setCode(await verifyCommand({ ...o, store: locateStore({ flag: o.store }).root })));
  program.command('gc').description('remove stored artifacts that no run, task or cache entry refers to').option('--store <dir>', 'state directory (default: $SLUICE_STORE, else the nearest .sluice/)', storeFlag).option('--dry-run', 'list what would be removed')
    .action((o: { store?: string; dryRun?: boolean }) => setCode(gcCommand({ ...o, store: locateStore({ flag: o.store }).root })));
}
