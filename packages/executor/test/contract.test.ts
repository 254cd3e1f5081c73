/**
 * Issue 9 items 3 and 10. A step that ends with exit code 0 without writing a declared output fails
 * its attempt with "declared output x was not written" in every mode, as the producer pod fails on
 * Argo; in-process, a step's process.exit fails the attempt instead of ending the runner. A warm
 * worker's stdout blocks like a fresh process's: large fs.writeSync calls all land in the log.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', '..', 'runner', 'bin', 'sluice.mjs');
const ENTRY = join(import.meta.dirname, 'fixtures', 'contract.ts');

function sluice(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1', SLUICE_STORE: '' }, timeout: 90_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Shown { status: string; tasks: { key: string; state: string; error: string | null }[] }
function show(dir: string): Shown {
  const r = sluice(dir, 'show', 'latest', '--json', '--store', join(dir, '.sluice'));
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as Shown;
}

describe('a step that exits 0 without its declared outputs', () => {
  for (const mode of [[], ['--fresh-processes'], ['--in-process']] as const) {
    it(`fails with "declared output model was not written" (${mode[0] ?? 'warm workers'})`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-contract-'));
      const r = sluice(dir, 'run', ENTRY, '--export', 'quit', '--store', join(dir, '.sluice'), ...mode);
      expect(r.code, r.out + r.err).toBe(1);
      expect(r.out).toMatch(/run \S+ failed:\nquitter: .*declared output "model" was not written/);
      const s = show(dir);
      expect(s.status).toBe('failed');
      expect(s.tasks.find((t) => t.key === 'quitter')).toMatchObject({ state: 'failed' });
    });
  }

  it('in-process, a step calling process.exit(3) fails its attempt; the runner and its run carry on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-contract-'));
    const r = sluice(dir, 'run', ENTRY, '--export', 'crash', '--store', join(dir, '.sluice'), '--in-process');
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toContain('crasher: the step called process.exit(3)');
    expect(show(dir).status).toBe('failed');
  });

  it('a container whose command is `true` fails with "declared output model was not written"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-contract-'));
    const r = sluice(dir, 'run', ENTRY, '--export', 'container', '--store', join(dir, '.sluice'), '--containers', 'host');
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toMatch(/idle: .*declared output "(model|score)" was not written/);
    expect(show(dir).tasks.find((t) => t.key === 'idle')).toMatchObject({ state: 'failed' });
  });
});

describe('a warm worker\'s standard output', () => {
  it('takes 16 x 1 MiB fs.writeSync(1) without EAGAIN or short writes, as a fresh process does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-contract-'));
    const r = sluice(dir, 'run', ENTRY, '--export', 'noisy', '--store', join(dir, '.sluice'), '--json');
    expect(r.err).not.toContain('EAGAIN');
    expect(r.code, r.out.slice(-2000) + r.err).toBe(0);
    const finished = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type?: string; kind?: string; outputs?: unknown }).find((e) => (e.kind ?? e.type) === 'run.finished');
    expect(finished?.outputs).toEqual({});
    const runs = join(dir, '.sluice', 'runs');
    const id = (JSON.parse(sluice(dir, 'runs', '--json', '--store', join(dir, '.sluice')).out) as { id: string }[])[0]!.id;
    const log = readFileSync(join(runs, id, 'logs', 'loud.log'), 'latin1').replace(/\u0000sluice:attempt [^\n]*\n/g, '');
    expect(log.length).toBe(16 << 20);
    const shown = sluice(dir, 'show', id, '--json', '--store', join(dir, '.sluice'));
    const task = (JSON.parse(shown.out) as { tasks: { key: string; outputs: unknown }[] }).tasks.find((t) => t.key === 'loud');
    expect(JSON.stringify(task?.outputs)).toContain(String(16 << 20));
  });
});

describe('sluice exec (the pod side) when the pipeline file cannot be loaded', () => {
  const OUR_STACK = /\n\s+at .*(packages\/(runner|executor|sdk|compiler)\/src|node:internal|esbuild)/;
  const exec = (dir: string, entry: string, env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(process.execPath, [BIN, 'exec', '--entry', entry, '--component', 'c', '--task', 't', '--outputs', join(dir, 'out')], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1', SLUICE_CACHE: join(dir, 'cache'), SLUICE_DEBUG: '', ...env }, timeout: 90_000 });
    return { code: r.status, err: r.stderr };
  };
  it("says where the user's module failed, in one message without our stack (SLUICE_DEBUG=1 adds it)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-exec-load-'));
    writeFileSync(join(dir, 'throws.ts'), 'const n = 1;\nthrow new Error(`boom ${n}`);\nexport default n;\n');
    writeFileSync(join(dir, 'syntax.ts'), 'export const x = ;\n');
    const thrown = exec(dir, 'throws.ts');
    expect(thrown.code).toBe(1); // retried as any failed attempt (a module may fail at load for a passing reason)
    expect(thrown.err).toBe('sluice exec: cannot load throws.ts: throws.ts:2:7: Error: boom 1\n(the error was thrown while loading throws.ts; SLUICE_DEBUG=1 shows the whole stack)\n');
    const syntax = exec(dir, 'syntax.ts');
    expect(syntax.code).toBe(1);
    expect(syntax.err).toMatch(/^sluice exec: cannot load syntax.ts: syntax.ts:1:18: Error: Unexpected ";"\n\(the error was thrown while loading syntax.ts; SLUICE_DEBUG=1 shows the whole stack\)\n$/);
    const missing = exec(dir, 'missing.ts');
    expect(missing.err).toBe('sluice exec: cannot load missing.ts: pipeline file missing.ts does not exist\n');
    for (const r of [thrown, syntax, missing]) expect(r.err).not.toMatch(OUR_STACK);
    const debug = exec(dir, 'throws.ts', { SLUICE_DEBUG: '1' });
    expect(debug.err).toMatch(/\nsluice exec: cannot load throws.ts: throws.ts:2:7: Error: boom 1\n\(the error was thrown while loading throws.ts\)\nError: boom 1\n\s+at /);
  });
});
