/**
 * The dependency directions of .dependency-cruiser.cjs, checked on the real tree, and a proof that
 * the check catches a violation (a scratch tree with the same layout and forbidden imports).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation { readonly from: string; readonly to: string; readonly rule: { readonly name: string } }

/** Runs depcruise as CI would (its exit code counts the errors), then again for the violations as data. */
function cruise(cwd: string, dirs: readonly string[]): { status: number | null; violations: Violation[]; stderr: string } {
  const run = (type: string) => spawnSync(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', type, ...dirs], { cwd, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  const plain = run('err');
  const json = run('json');
  const report = json.stdout ? (JSON.parse(json.stdout) as { summary: { violations: Violation[] } }) : undefined;
  return { status: plain.status, violations: report?.summary.violations ?? [], stderr: plain.stderr + json.stderr };
}

function write(root: string, file: string, text: string): void {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), text);
}

describe('dependency direction (dependency-cruiser)', () => {
  it('the executor reaches neither the runner nor the compiler nor their dependencies; the SDK only zod and graphlib', () => {
    const r = cruise(ROOT, ['packages/executor/src', 'packages/executor/bin', 'packages/sdk/src']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
    expect(r.status).toBe(0);
  });

  it('fails on an import from the executor into the runner, on better-sqlite3 in the executor, and on the SDK importing the compiler', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-depcruise-'));
    // the runner's node_modules holds better-sqlite3 and commander, as a careless install would
    symlinkSync(join(ROOT, 'packages', 'runner', 'node_modules'), join(dir, 'node_modules'));
    write(dir, 'tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowImportingTsExtensions: true, noEmit: true } }));
    write(dir, 'packages/runner/src/store.ts', 'export const store = 1;\n');
    write(dir, 'packages/compiler/src/compile.ts', 'export const compile = 1;\n');
    write(dir, 'packages/executor/src/step.ts', "import { store } from '../../runner/src/store.ts';\nimport Database from 'better-sqlite3';\nexport const x = [store, Database];\n");
    write(dir, 'packages/executor/src/ok.ts', "import { readFileSync } from 'node:fs';\nexport const y = readFileSync;\n");
    write(dir, 'packages/sdk/src/index.ts', "import { compile } from '../../compiler/src/compile.ts';\nexport const z = compile;\n");
    const r = cruise(dir, ['packages/executor/src', 'packages/sdk/src']);
    expect(r.status).not.toBe(0);
    const found = r.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*node_modules\//, 'node_modules/')}`).sort();
    expect(found).toEqual([
      'executor-is-pod-side: packages/executor/src/step.ts -> node_modules/better-sqlite3/lib/index.js',
      'executor-is-pod-side: packages/executor/src/step.ts -> packages/runner/src/store.ts',
      'executor-only-sdk-zod-tsx: packages/executor/src/step.ts -> node_modules/better-sqlite3/lib/index.js',
      'sdk-is-the-base: packages/sdk/src/index.ts -> packages/compiler/src/compile.ts',
    ]);
  });
});
