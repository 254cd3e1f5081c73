/**
 * `TriggerStore.read`, the one way the trigger tables are opened for reading (by `sluice triggers
 * replay/list/explain` and by the runner's query layer that `sluice ui` serves): nothing to read is
 * undefined, a store with trigger tables opens read-only, a damaged one throws.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../runner/src/store/state.ts';
import { triggerViews } from '../../runner/src/query/triggers.ts';
import { TriggerStore } from '../src/local/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-trigread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TriggerStore.read', () => {
  it('is undefined without a store file, and for a store the daemon never served', () => {
    expect(TriggerStore.read(join(dir, 'absent.db'))).toBeUndefined();
    const db = join(dir, 'runs-only.db');
    StateStore.open(db).close();
    expect(TriggerStore.read(db)).toBeUndefined();
    expect(triggerViews(db)).toEqual([]);
  });

  it('opens the trigger tables read-only once the daemon has written them', () => {
    const db = join(dir, 'served.db');
    StateStore.open(db).close();
    TriggerStore.open(db).close(); // what the daemon does first
    const store = TriggerStore.read(db);
    try {
      expect(store).toBeInstanceOf(TriggerStore);
      expect(store?.db.readonly).toBe(true);
      expect(store?.decisions('nightly', 10)).toEqual([]);
    } finally {
      store?.close();
    }
    expect(triggerViews(db)).toEqual([]);
  });

  it('throws for a damaged store instead of reading it as empty', () => {
    const db = join(dir, 'damaged.db');
    writeFileSync(db, 'not an sqlite database at all, just text that is long enough to have a header');
    expect(() => TriggerStore.read(db)).toThrow(/not a database|file is not a database/i);
    expect(() => triggerViews(db)).toThrow(/not a database/i);
  });
});
