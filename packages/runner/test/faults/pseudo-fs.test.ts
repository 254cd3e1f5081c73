// Folders Sluice makes where a user points it (its cache, a store, a new project) on a pseudo file
// system, through the real binary: Node 20's recursive mkdirSync never returns under /proc (mkdir
// answers ENOENT there), and a `sluice compile` with SLUICE_CACHE or HOME there spun for ever, deaf
// to SIGTERM. Each case runs in a child that is SIGKILLed at its time limit, so a regression fails
// the test instead of hanging the suite.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, OUR_STACK, sluice } from './sluice.ts';

const EXAMPLE = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'tabular-training', 'pipeline.ts');
const dir = mkdtempSync(join(tmpdir(), 'sluice-pseudo-fs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const procfs = (): boolean => {
  try {
    return statSync('/proc/self').isDirectory() && readFileSync('/proc/self/stat', 'utf8').length > 0;
  } catch {
    return false;
  }
};
const LIMIT = 60_000;

describe('folders under /proc (procfs: mkdir answers ENOENT)', () => {
  it('a cache directory there: compile ends and writes the manifest it writes with a normal cache (the loader falls back to a temporary folder)', async (ctx) => {
    if (!procfs()) {
      console.warn('skipping: no procfs at /proc');
      ctx.skip();
    }
    const normal = await sluice(dir, ['compile', EXAMPLE], { SLUICE_CACHE: join(dir, 'cache') }, LIMIT);
    expect(normal.code, normal.err).toBe(0);
    for (const env of [{ SLUICE_CACHE: '/proc/sluice-test-cache' }, { SLUICE_CACHE: '', XDG_CACHE_HOME: '', HOME: '/proc' }]) {
      const r = await sluice(dir, ['compile', EXAMPLE], env, LIMIT);
      expect(r.signal, `${JSON.stringify(env)}: killed at the time limit`).toBeNull();
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe(normal.out);
    }
  }, 4 * LIMIT);

  it('a store there: one line and exit 1, no stack; a new project there: one line and exit 2', async (ctx) => {
    if (!procfs()) {
      console.warn('skipping: no procfs at /proc');
      ctx.skip();
    }
    const run = await sluice(dir, ['run', FIXTURES, '--export', 'naps', '--store', '/proc/sluice-test/store'], {}, LIMIT);
    expect(run.signal).toBeNull();
    expect({ code: run.code, err: run.err }).toEqual({ code: 1, err: "sluice: cannot make the store folder /proc/sluice-test/store: ENOENT: no such file or directory, mkdir '/proc/sluice-test'\n" });
    const init = await sluice(dir, ['init', '/proc/sluice-test-project'], {}, LIMIT);
    expect(init.signal).toBeNull();
    expect(init.code).toBe(2);
    expect(init.err).toMatch(/^sluice init: cannot write the project into \/proc\/sluice-test-project: ENOENT/);
    expect(init.err).not.toMatch(OUR_STACK);
    expect(existsSync(join(dir, '.sluice'))).toBe(false);
  }, 3 * LIMIT);
});
