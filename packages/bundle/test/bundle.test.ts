import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { BundleError, bundlePipeline, loadBundle, writeBundle } from '../src/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, 'fixture');
const scratch: string[] = [];
afterAll(() => { for (const d of scratch) rmSync(d, { recursive: true, force: true }); });

/** A copy of the fixture beside the original (so `@sluice/sdk` and zod resolve the same way), edited by the test. */
function fixtureCopy(): string {
  const dir = mkdtempSync(path.join(here, '.tmp-'));
  scratch.push(dir);
  cpSync(fixture, dir, { recursive: true });
  return dir;
}

function emptyDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bundle-run-'));
  scratch.push(dir);
  return dir;
}

describe('bundlePipeline', () => {
  test('is deterministic: the same sources give the same bytes and hash', async () => {
    const a = await bundlePipeline(path.join(fixture, 'pipeline.ts'), { root: fixture });
    const b = await bundlePipeline(path.join(fixture, 'pipeline.ts'), { root: fixture });
    expect(b.code).toBe(a.code);
    expect(b.hash).toBe(a.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.fileName).toBe(`sluice-${a.hash.slice(0, 16)}.mjs`);
    // the same sources in another directory (paths relative to the root) give the same bytes
    const copy = fixtureCopy();
    const c = await bundlePipeline(path.join(copy, 'pipeline.ts'), { root: copy });
    expect(c.hash).toBe(a.hash);
    // the module graph is in it: the helper, the SDK, zod and the executor
    expect(a.inputs).toContain('src/helper.ts');
    for (const part of ['sdk/src/pipeline.ts', 'executor/src/step.ts', 'zod']) expect(a.inputs.some((i) => i.includes(part))).toBe(true);
  });

  test('the hash changes with an imported helper or a module constant, and comes back with the sources', async () => {
    const dir = fixtureCopy();
    const entry = path.join(dir, 'pipeline.ts');
    const before = (await bundlePipeline(entry, { root: dir })).hash;
    const helper = path.join(dir, 'src/helper.ts');
    const original = readFileSync(helper, 'utf8');
    writeFileSync(helper, original.replace('FACTOR = 2', 'FACTOR = 3'));
    const helperChanged = (await bundlePipeline(entry, { root: dir })).hash;
    expect(helperChanged).not.toBe(before);
    writeFileSync(helper, original);
    expect((await bundlePipeline(entry, { root: dir })).hash).toBe(before);
    const src = readFileSync(entry, 'utf8');
    writeFileSync(entry, src.replace('const OFFSET = 0;', 'const OFFSET = 1;'));
    expect((await bundlePipeline(entry, { root: dir })).hash).not.toBe(before);
  });

  test('runs a step with plain node, alone in an empty directory (no node_modules)', async () => {
    const b = await bundlePipeline(path.join(fixture, 'pipeline.ts'), { root: fixture });
    const dir = emptyDir();
    const file = writeBundle(b, dir);
    expect(existsSync(path.join(dir, 'node_modules'))).toBe(false);
    const ir = JSON.parse(execFileSync(process.execPath, [file, 'ir'], { cwd: dir, encoding: 'utf8' })) as { name: string; components: Record<string, { name: string }> };
    expect(ir.name).toBe('bundle-fixture');
    const hash = Object.keys(ir.components).find((h) => ir.components[h]!.name === 'scale')!;
    const env = { PATH: process.env.PATH ?? '', HOME: dir }; // no NODE_PATH, no NODE_OPTIONS (tsx)
    const ok = spawnSync(process.execPath, [file, 'exec', '--component', hash, '--task', 'scale', '--param', 'x=21', '--outputs', path.join(dir, 'out')], { cwd: dir, env, encoding: 'utf8' });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(readFileSync(path.join(dir, 'out/parameters/y'), 'utf8')).toBe('42');
    // zod is in the bundle: an invalid input is refused with exit 2, as `sluice exec` does
    const bad = spawnSync(process.execPath, [file, 'exec', '--component', hash, '--task', 'scale', '--param', 'x="abc"', '--outputs', path.join(dir, 'bad')], { cwd: dir, env, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/invalid inputs/);
    // an unknown verb prints the usage, exit 2
    const usage = spawnSync(process.execPath, [file, 'bogus'], { cwd: dir, env, encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/usage: node <bundle>\.mjs exec/);
  });

  test('loadBundle gives the IR whose component hashes the bundle itself answers to', async () => {
    const b = await bundlePipeline(path.join(fixture, 'pipeline.ts'), { root: fixture });
    const file = writeBundle(b, emptyDir());
    const loaded = await loadBundle(file);
    expect(loaded.ir.name).toBe('bundle-fixture');
    expect([...loaded.runtimes.keys()]).toEqual(Object.keys(loaded.ir.components).filter((h) => loaded.ir.components[h]!.kind === 'function'));
  });

  test('an unresolvable import is one located BundleError', async () => {
    const dir = fixtureCopy();
    const entry = path.join(dir, 'pipeline.ts');
    writeFileSync(entry, readFileSync(entry, 'utf8').replace("'./src/helper.ts'", "'./src/missing.ts'"));
    const err = await bundlePipeline(entry, { root: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect((err as BundleError).messages).toEqual([expect.stringMatching(/^pipeline\.ts:5:\d+: Could not resolve "\.\/src\/missing\.ts"$/)]);
  });
});
