/**
 * The loader's cache directory (`<cache>/load`) does not grow for ever: a build prunes it at most
 * once a day (`prune` in graph-load.ts). What a load may still use stays: the folder a live index
 * entry names, however old, and a folder a process loaded lately (a kept load refreshes its mtime).
 * What none can use goes: folders no live entry names and unused for a week, index entries whose
 * stamps no longer hold, temporary folders of builds that died. An index entry the loader did not
 * write (damaged, or naming a module outside its built folder) is a miss, never trusted. Each load
 * runs in a fresh process, as a command does.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// inside the package, so that the child's `--import tsx` resolves
const project = mkdtempSync(join(import.meta.dirname, '.tmp-prune-'));
const cache = mkdtempSync(join(tmpdir(), 'sluice-prune-cache-'));
const load = join(cache, 'load');
afterAll(() => {
  rmSync(project, { recursive: true, force: true });
  rmSync(cache, { recursive: true, force: true });
});
/** Writes a project file dated a minute ago (a file written in the last second is not recorded in an index entry). */
function put(file: string, text: string): void {
  writeFileSync(join(project, file), text);
  const t = new Date(Date.now() - 60_000);
  utimesSync(join(project, file), t, t);
}
put('package.json', JSON.stringify({ name: 'prune', private: true, type: 'module' }));
const graphLoad = pathToFileURL(join(import.meta.dirname, '..', 'src', 'graph-load.ts')).href;

/** Loads `file` (its module-graph hash, through the loader) in a fresh process; whether the load was kept. */
function loadIn(file: string): boolean {
  return hashIn(file).kept;
}
/** The same load, with the hash it answered. */
function hashIn(file: string): { hash: string; kept: boolean } {
  const script = `const { moduleGraphHash } = await import(${JSON.stringify(graphLoad)}); const h = await moduleGraphHash(${JSON.stringify(join(project, file))}); process.stdout.write(JSON.stringify(h));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: project, encoding: 'utf8', env: { ...process.env, SLUICE_CACHE: cache, NODE_OPTIONS: '' }, timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { hash: string; kept: boolean };
}
const DAY = 24 * 3600_000;
const age = (p: string, ms: number): void => { const t = new Date(Date.now() - ms); utimesSync(p, t, t); };
const folders = (): string[] => readdirSync(load).filter((n) => /^[0-9a-f]{32}$/.test(n)).sort();
/** The built folder the index entry of `file` names (the entry written for the last build of it). */
function folderOf(file: string): string {
  const entries = readdirSync(load).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(join(load, n), 'utf8')) as { module: string; files: [string][] });
  const e = entries.find((x) => x.files.some((f) => f[0] === join(project, file)) && x.module.endsWith(`${file.replace(/\.ts$/, '')}.mjs`));
  if (!e) throw new Error(`no index entry for ${file}`);
  return e.module.split('/')[0]!;
}
/** A folder no entry names, as an older build of a changed file leaves behind. */
function orphan(name: string, ms: number): string {
  mkdirSync(join(load, name, 'x'), { recursive: true });
  writeFileSync(join(load, name, 'x', 'a.mjs'), 'export {};\n');
  age(join(load, name), ms);
  return name;
}

describe('the load cache is pruned', () => {
  it('keeps what a load may use, removes what none can, at most once a day', () => {
    put('live.ts', 'export const live = 1;\n');
    expect(loadIn('live.ts')).toBe(false);
    const live = folderOf('live.ts');
    // built long ago, still named by its entry (the file is unchanged): kept however old
    age(join(load, live), 30 * DAY);
    // an entry changed since its build: its index entry is dead, its old folder unused
    put('changed.ts', 'export const v = 1;\n');
    loadIn('changed.ts');
    const before = folderOf('changed.ts');
    put('changed.ts', 'export const v = 2; // changed\n');
    const dead = readdirSync(load).find((n) => n.endsWith('.json') && readFileSync(join(load, n), 'utf8').includes(before))!;
    age(join(load, dead), 2 * 3600_000);
    age(join(load, before), 8 * DAY);
    const stale = orphan('a'.repeat(32), 8 * DAY);
    const recent = orphan('b'.repeat(32), 2 * DAY);
    mkdirSync(join(load, `${'c'.repeat(32)}.4242.tmp`));
    age(join(load, `${'c'.repeat(32)}.4242.tmp`), 2 * 3600_000);
    mkdirSync(join(load, `${'d'.repeat(32)}.4243.tmp`)); // a build writing now
    age(join(load, '.pruned'), 2 * DAY);

    // a build (a new file) prunes
    put('fresh.ts', 'export const fresh = 1;\n');
    expect(loadIn('fresh.ts')).toBe(false);
    const after = folders();
    expect(after).toContain(live);
    expect(after).toContain(folderOf('fresh.ts'));
    expect(after).toContain(recent);
    expect(after).not.toContain(stale);
    expect(after).not.toContain(before);
    expect(existsSync(join(load, dead))).toBe(false);
    expect(existsSync(join(load, `${'c'.repeat(32)}.4242.tmp`))).toBe(false);
    expect(existsSync(join(load, `${'d'.repeat(32)}.4243.tmp`))).toBe(true);
    // the live entry still loads kept, and that use refreshes its folder's mtime
    expect(loadIn('live.ts')).toBe(true);
    expect(Date.now() - statSync(join(load, live)).mtimeMs).toBeLessThan(DAY);

    // pruned less than a day ago: the next build leaves an old orphan alone, until a day has passed
    const later = orphan('e'.repeat(32), 8 * DAY);
    put('other.ts', 'export const other = 1;\n');
    loadIn('other.ts');
    expect(folders()).toContain(later);
    age(join(load, '.pruned'), 2 * DAY);
    put('third.ts', 'export const third = 1;\n');
    loadIn('third.ts');
    expect(folders()).not.toContain(later);
    expect(folders()).toContain(live);
  }, 120_000);
});

describe('a damaged index entry', () => {
  it('is a miss (built again, the right hash), never a module or a hash taken from it', () => {
    put('damaged.ts', 'export const damaged = 1;\n');
    const first = hashIn('damaged.ts');
    expect(first.kept).toBe(false);
    expect(hashIn('damaged.ts')).toEqual({ hash: first.hash, kept: true });
    const index = readdirSync(load).filter((n) => n.endsWith('.json')).map((n) => join(load, n))
      .find((p) => readFileSync(p, 'utf8').includes(join(project, 'damaged.ts')))!;
    const good = JSON.parse(readFileSync(index, 'utf8')) as Record<string, unknown>;
    // an existing file outside the built folder, which the old reader would have named as the module
    writeFileSync(join(load, 'outside.mjs'), 'export const damaged = 666;\n');
    const damage: Record<string, unknown>[] = [
      { codeHash: 'not a hash' },
      { codeHash: 5 },
      { module: `${String(good.module).split('/')[0]}/../outside.mjs` },
      { module: 'outside.mjs' },
      { files: [[join(project, 'damaged.ts'), 'size', '', '']] },
    ];
    for (const d of damage) {
      writeFileSync(index, JSON.stringify({ ...good, ...d }));
      expect(hashIn('damaged.ts'), JSON.stringify(d)).toEqual({ hash: first.hash, kept: false });
      // the build wrote the entry again: kept next time
      expect(hashIn('damaged.ts')).toEqual({ hash: first.hash, kept: true });
    }
  }, 120_000);
});
