// The CLI's verb table: its help lines match what the verb modules register, and a verb loads only its own modules.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.ts';
import { groupAvailable, VERBS, verbName } from '../src/cli/verbs.ts';
import { tmp } from './helpers.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.mjs');
const TRACE = join(import.meta.dirname, 'fixtures', 'trace-imports.mjs');

/** The module URLs `sluice ...args` resolves (the trace's lines are `<url> <- <parent>`). */
function imports(args: readonly string[], cwd: string): { code: number | null; urls: string[]; out: string } {
  const file = join(cwd, `trace-${args.join('-').replace(/[^a-z0-9-]/gi, '')}.txt`);
  const r = spawnSync(process.execPath, ['--import', TRACE, BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, SLUICE_TRACE_IMPORTS: file }, timeout: 60_000 });
  return { code: r.status, urls: readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(' <- ')[0] as string), out: r.stdout + r.stderr };
}

/** Modules of other verbs: the engine, the executor, the compiler, triggers, tracking, the cluster client, the web view, zod, the live view (esbuild is tsx's own in a checkout). */
const HEAVY = /packages\/(compiler|triggers|tracking|ui|bundle)\/|packages\/executor\/src\/(index|step|main|worker|load)|packages\/sdk\/src\/(index|builder|component|pipeline|schema)|packages\/cluster\/src\/(kube|backend|submit)|runner\/src\/engine\/(engine|launch|pool)|node_modules\/(\.pnpm\/)?(zod|ts-morph|log-update|@kubernetes)/;

describe('sluice verbs', () => {
  it("the table's help lines are the registered verbs' own (name, arguments, options marker, description)", async () => {
    const program = await buildProgram([], () => {}, { all: true });
    const help = new Help();
    const registered = program.commands.map((c) => ({ term: help.subcommandTerm(c), description: c.description() }));
    const table = VERBS.filter((v) => v.groups.every(groupAvailable)).map((v) => ({ term: v.term, description: v.description }));
    expect(registered.sort((a, b) => a.term.localeCompare(b.term))).toEqual(table.sort((a, b) => a.term.localeCompare(b.term)));
  });

  it('`sluice --help` lists every verb from the table and loads no verb module', () => {
    const dir = tmp('sluice-verbs-');
    const r = imports(['--help'], dir);
    expect(r.code, r.out).toBe(0);
    for (const v of VERBS.filter((x) => x.groups.every(groupAvailable))) expect(r.out).toMatch(new RegExp(`^  ${verbName(v)} `, 'm'));
    expect(r.urls.filter((u) => /runner\/src\/(cli\/(inspect|drive|compile|store)|backend|store|run)\b/.test(u) || HEAVY.test(u))).toEqual([]);
  });

  it('`sluice show` and `sluice runs` load the read side only: no engine, executor, compiler, triggers, tracking, zod or cluster client', () => {
    const dir = tmp('sluice-verbs-');
    for (const args of [['runs'], ['show', 'latest']]) {
      const r = imports(args, dir);
      expect(r.urls.some((u) => u.includes('runner/src/cli/inspect.ts')), r.out).toBe(true);
      expect(r.urls.filter((u) => HEAVY.test(u)), args.join(' ')).toEqual([]);
    }
  });

  it('a verb of another package loads that package (sluice help triggers, sluice help submit)', () => {
    const dir = tmp('sluice-verbs-');
    const t = imports(['help', 'triggers'], dir);
    expect(t.code, t.out).toBe(0);
    expect(t.out).toContain('Usage: sluice triggers');
    expect(t.urls.some((u) => u.includes('packages/triggers/src/cli.ts'))).toBe(true);
    const s = imports(['help', 'submit'], dir);
    expect(s.out).toContain('--kubeconfig <file>');
    expect(s.urls.some((u) => u.includes('packages/triggers/'))).toBe(false);
  });
});
