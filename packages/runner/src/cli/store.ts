/** `sluice verify` and `sluice gc`: the artifact store checked in full, and objects no record refers to removed. */
import type { Command } from 'commander';
import { locateStore } from '../backend/location.ts';
import { storePaths } from '../run.ts';
import { storeFlag } from './flags.ts';
import { ArtifactStore } from '../store/cas.ts';
import { StateStore } from '../store/state.ts';

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
    if (o.remove) for (const h of bad) cas.remove(h);
    if (o.json) process.stdout.write(JSON.stringify({ objects: all.length, corrupt: bad, missing, removed: o.remove ? bad : [] }, null, 2) + '\n');
    else {
      for (const h of bad) process.stdout.write(`corrupt  sha256:${h}  ${cas.pathOf(h)}${o.remove ? '  (removed)' : ''}\n`);
      for (const h of missing) process.stdout.write(`missing  sha256:${h}  (recorded, not in the store)\n`);
      process.stdout.write(`${all.length} object${all.length === 1 ? '' : 's'} checked: ${bad.length} corrupt, ${missing.length} missing${bad.length && !o.remove ? '; `sluice verify --remove` removes the corrupt ones (the tasks that made them run again, the cache misses)' : ''}\n`);
    }
    return bad.length ? 1 : 0;
  } finally {
    s.close();
  }
}

export function gcCommand(o: { store: string; dryRun?: boolean }): number {
  const paths = storePaths(o.store);
  const s = StateStore.open(paths.db, { readonly: true });
  try {
    const live = s.liveRuns();
    if (live.length && !o.dryRun) {
      process.stderr.write(`sluice: run${live.length > 1 ? 's' : ''} ${live.map((r) => r.id).join(', ')} ${live.length > 1 ? 'are' : 'is'} running and may store artifacts now; run gc when ${live.length > 1 ? 'they end' : 'it ends'} (or --dry-run to see what would go)\n`);
      return 1;
    }
    const cas = new ArtifactStore(paths.artifacts);
    const keep = s.referencedHashes();
    const gone = cas.list().filter((h) => !keep.has(h));
    for (const h of gone) {
      process.stdout.write(`${o.dryRun ? 'would remove' : 'removed'}  sha256:${h}\n`);
      if (!o.dryRun) cas.remove(h);
    }
    process.stdout.write(`${gone.length} unreferenced object${gone.length === 1 ? '' : 's'} ${o.dryRun ? 'would be removed' : 'removed'}; ${keep.size} referenced\n`);
    return 0;
  } finally {
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
