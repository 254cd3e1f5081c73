import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ownVersion, projectName, scaffold, ScaffoldError } from '../src/index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sluice-scaffold-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const FILES = ['.dockerignore', '.gitignore', 'Dockerfile', 'README.md', 'package.json', 'pipeline.ts', 'test', 'tsconfig.json'];
const SLUICE = join(import.meta.dirname, '..', '..', 'runner', 'bin', 'sluice.mjs');
const CREATE = join(import.meta.dirname, '..', 'bin', 'create-sluice.mjs');
const EXEC = join(import.meta.dirname, '..', '..', 'executor', 'bin', 'sluice-exec.mjs');

describe('scaffold', () => {
  it('writes an ESM project named after its directory, depending on this release', () => {
    const r = scaffold(join(tmp, 'My Pipelines'));
    expect(r.name).toBe('my-pipelines');
    expect(readdirSync(r.dir).sort()).toEqual(FILES);
    const pkg = JSON.parse(readFileSync(join(r.dir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(pkg.type).toBe('module');
    expect(pkg.dependencies).toEqual({ '@sluice/executor': `^${ownVersion()}`, '@sluice/sdk': `^${ownVersion()}`, zod: '^4.6.0' });
    expect(Object.keys(pkg.devDependencies!)).toContain('@sluice/runner');
    expect(readFileSync(join(r.dir, 'pipeline.ts'), 'utf8')).toContain("image: 'my-pipelines:0.1.0'");
    expect(readFileSync(join(r.dir, 'Dockerfile'), 'utf8')).toMatch(/npm ci --omit=dev/);
    const ts = JSON.parse(readFileSync(join(r.dir, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
    expect(ts.compilerOptions.moduleResolution).toBe('NodeNext');
    expect(ts.compilerOptions.allowImportingTsExtensions).toBeUndefined();
  });

  it('writes nothing when one of its files is already there', () => {
    const dir = join(tmp, 'taken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'pipeline.ts'), 'mine');
    expect(() => scaffold(dir)).toThrow(ScaffoldError);
    expect(() => scaffold(dir)).toThrow(/pipeline\.ts already exists; nothing was written/);
    expect(readdirSync(dir)).toEqual(['pipeline.ts']);
    expect(readFileSync(join(dir, 'pipeline.ts'), 'utf8')).toBe('mine');
  });

  it('names', () => {
    expect(projectName('/x/Über Cool_Project!')).toBe('ber-cool-project');
    expect(projectName('/x/---')).toBe('sluice-pipelines');
    expect(() => scaffold(join(tmp, 'n'), { name: 'Bad Name' })).toThrow(/project name "Bad Name"/);
  });
});

describe('the commands', () => {
  const cli = (bin: string, args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: tmp, encoding: 'utf8' });

  it('sluice init [dir] writes the project and says what to run next; again, it refuses with exit 2', () => {
    const first = cli(SLUICE, ['init', 'from-init']);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/cd from-init\n {2}npm install\n {2}npm test\n/);
    expect(readdirSync(join(tmp, 'from-init')).sort()).toEqual(FILES);
    const again = cli(SLUICE, ['init', 'from-init']);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/^sluice init: from-init: package\.json, .* already exist; nothing was written/);
  });

  it('create-sluice (npm create sluice) writes the same files, and rejects bad arguments with exit 2', () => {
    const r = cli(CREATE, ['from-create']);
    expect(r.status).toBe(0);
    expect(readdirSync(join(tmp, 'from-create')).sort()).toEqual(FILES);
    expect(readFileSync(join(tmp, 'from-create', 'pipeline.ts'), 'utf8')).toBe(readFileSync(join(tmp, 'from-init', 'pipeline.ts'), 'utf8').replaceAll('from-init', 'from-create'));
    expect(cli(CREATE, ['--bogus']).status).toBe(2);
    expect(cli(CREATE, ['a', 'b']).stderr).toContain('expected at most one directory');
    expect(existsSync(join(tmp, 'a'))).toBe(false);
  });

  it("the Dockerfile's `sluice` (a link to sluice-exec) takes the compiled Workflow's `sluice exec ...` arguments", () => {
    expect(readFileSync(join(tmp, 'from-init', 'Dockerfile'), 'utf8')).toContain('ln -s sluice-exec node_modules/.bin/sluice');
    const r = cli(EXEC, ['exec', '--entry', 'missing.ts', '--component', 'c', '--task', 't', '--outputs', 'o']);
    expect(r.stderr).not.toContain('unknown argument');
    expect(r.stderr).toContain('sluice exec: cannot load missing.ts');
  });
});
