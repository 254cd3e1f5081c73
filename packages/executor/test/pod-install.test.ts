/**
 * A pod image holds the executor, the SDK, tracking (metrics to MLflow) and their dependencies, nothing else. Build that install
 * in a scratch directory (copies of the two packages; zod, tsx, esbuild and graphlib linked from the store),
 * run a step with the flags a compiled manifest passes, and record every module Node resolves with
 * a loader hook: nothing of the local runner, the compiler, SQLite, ts-morph or commander loads.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PKG = (name: string) => join(ROOT, 'packages', name);

/** The real directory of a dependency as `from` resolves it (pnpm keeps its own dependencies beside it). */
function depDir(from: string, name: string): string {
  return realpathSync(join(from, 'node_modules', name));
}

function podInstall(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pod-'));
  const nm = join(dir, 'node_modules');
  for (const [name, src] of [['executor', PKG('executor')], ['sdk', PKG('sdk')], ['tracking', PKG('tracking')]] as const) {
    const to = join(nm, '@sluice', name);
    mkdirSync(to, { recursive: true });
    for (const part of ['package.json', 'src', 'bin']) {
      try { cpSync(join(src, part), join(to, part), { recursive: true }); } catch { /* sdk has no bin */ }
    }
  }
  const deps: [string, string][] = [['zod', depDir(PKG('sdk'), 'zod')], ['@dagrejs/graphlib', depDir(PKG('sdk'), '@dagrejs/graphlib')], ['tsx', depDir(PKG('executor'), 'tsx')], ['esbuild', depDir(PKG('executor'), 'esbuild')]];
  for (const [name, real] of deps) {
    mkdirSync(join(nm, name, '..'), { recursive: true });
    symlinkSync(real, join(nm, name));
  }
  mkdirSync(join(dir, 'app'));
  cpSync(join(import.meta.dirname, 'fixtures', 'pod-pipeline.ts'), join(dir, 'app', 'pipeline.ts'));
  writeFileSync(join(dir, 'app', 'package.json'), JSON.stringify({ type: 'module' }));
  // records every resolved module of the process (and of workers/child processes started with it)
  writeFileSync(join(dir, 'record.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url, { data: { file: process.env.RECORD_FILE } });\n`);
  writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';\nlet file;\nexport function initialize(d) { file = d.file; }\nexport async function resolve(spec, ctx, next) { const r = await next(spec, ctx); appendFileSync(file, r.url + '\\n'); return r; }\n`);
  return dir;
}

describe('a pod-like install of @sluice/executor', () => {
  it('runs a step with only the executor, the SDK and their dependencies, and loads nothing of the local runner', () => {
    const dir = podInstall();
    const record = join(dir, 'loaded.txt');
    writeFileSync(record, '');
    // the pod's own cache of built pipeline modules (graph-load.ts), inside the install
    const env = { ...process.env, RECORD_FILE: record, NODE_OPTIONS: '', SLUICE_CACHE: join(dir, 'cache') };
    const bin = join(dir, 'node_modules', '@sluice', 'executor', 'bin', 'sluice-exec.mjs');
    // the component hash as the pod computes it (the same loader as the step)
    const hashScript = join(dir, 'app', 'hash.mjs');
    writeFileSync(hashScript, `import { loadPipelineFile } from '@sluice/executor';\nconst l = await loadPipelineFile(process.argv[2]);\nconsole.log([...l.runtimes.values()].find((r) => r.ir.name === 'greet').hash);\n`);
    const h = spawnSync(process.execPath, ['--import', 'tsx', hashScript, join(dir, 'app', 'pipeline.ts')], { cwd: join(dir, 'app'), encoding: 'utf8', env, timeout: 60_000 });
    expect(h.status, h.stderr).toBe(0);
    const hash = h.stdout.trim();
    expect(hash).toMatch(/^[0-9a-f]{16}$/);

    writeFileSync(record, '');
    const out = join(dir, 'outputs');
    const r = spawnSync(process.execPath, ['--import', join(dir, 'record.mjs'), bin, '--entry', join(dir, 'app', 'pipeline.ts'), '--component', hash, '--component-name', 'greet', '--task', 'pod.greet', '--param', 'who=pod', '--outputs', out], { cwd: join(dir, 'app'), encoding: 'utf8', env, timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'artifacts', 'text'), 'utf8')).toBe('hello pod');
    expect(readFileSync(join(out, 'parameters', 'length'), 'utf8')).toBe('9');

    const loaded = readFileSync(record, 'utf8').split('\n').filter(Boolean);
    // the hook saw the executor, the SDK and the user's file: it is recording
    expect(loaded.some((u) => u.includes('/@sluice/executor/src/step.ts'))).toBe(true);
    expect(loaded.some((u) => u.includes('/@sluice/sdk/src/index.ts'))).toBe(true);
    // the user's pipeline, built from app/pipeline.ts by the executor's loader
    expect(loaded.some((u) => /\/cache\/load\/[0-9a-f]{32}\/(.+\/)?pipeline\.mjs$/.test(u))).toBe(true);
    const forbidden = loaded.filter((u) => /better-sqlite3|ts-morph|commander|@sluice\/(runner|compiler)|\/packages\/(runner|compiler)\/|node:sqlite/.test(u));
    expect(forbidden).toEqual([]);
    // nothing outside the install (and Node) was resolved
    const outside = loaded.filter((u) => u.startsWith('file:') && !u.startsWith(`file://${realpathSync(dir)}`) && !/\/node_modules\/\.pnpm\/(zod|tsx|esbuild|@esbuild|get-tsconfig|resolve-pkg-maps|@dagrejs)/.test(u));
    expect(outside).toEqual([]);
  });
});
