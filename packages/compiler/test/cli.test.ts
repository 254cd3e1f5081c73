import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { component, containerComponent, pipeline, toIR, Dataset } from '@sluice/sdk';
import { registerCompile } from '../../runner/src/cli/compile.ts';
import { repoRoot } from './helpers/argo.ts';

type CommandT = Parameters<typeof registerCompile>[0];

// commander is a dependency of the runner, which owns the `sluice` bin.
const { Command } = createRequire(path.join(repoRoot, 'packages/runner/package.json'))('commander') as { Command: new () => CommandT };

const make = component({ name: 'make', inputs: { rows: z.number().int() }, outputs: { data: Dataset }, async run() {} });
const count = containerComponent({ name: 'count', image: 'alpine:3', inputs: { data: Dataset }, outputs: {}, command: ({ inputs }: { inputs: Record<string, unknown> }) => ['wc', '-l', inputs.data] } as never);
const demo = pipeline({ name: 'cli-demo', params: { rows: z.number().int().default(10) }, image: 'ghcr.io/acme/p:1' } as never, ((params: { rows: unknown }) => {
  const m = (make as unknown as (a: unknown) => { outputs: { data: unknown } })({ rows: params.rows });
  (count as unknown as (a: unknown) => unknown)({ data: m.outputs.data });
}) as never);

let dir: string;
let out: string[];
let err: string[];
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-compile-'));
  out = [];
  err = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => { out.push(String(s)); return true; });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
  process.exitCode = undefined;
});
afterEach(() => { vi.restoreAllMocks(); process.exitCode = undefined; });

async function run(args: string[], loaded: unknown = demo): Promise<void> {
  const program = new Command();
  program.exitOverride();
  registerCompile(program, { loadPipeline: async () => loaded });
  await program.parseAsync(['node', 'sluice', 'compile', ...args]);
}

describe('sluice compile', () => {
  it('writes a Workflow for an SDK pipeline, with --param replacing the default', async () => {
    const file = path.join(dir, 'wf.yaml');
    await run(['pipelines/demo.ts', '-o', file, '--param', 'rows=42']);
    expect(process.exitCode).toBeUndefined();
    const yaml = readFileSync(file, 'utf8');
    expect(yaml).toContain('kind: Workflow');
    expect(yaml).toContain("{name: rows, value: '42'}");
    expect(yaml).toContain('- --entry\n      - pipelines/demo.ts\n');
  });
  it('writes a WorkflowTemplate with --kind template', async () => {
    await run(['p.ts', '--kind', 'template']);
    expect(out.join('')).toContain('kind: WorkflowTemplate');
  });
  it('writes the IR as stable JSON that round-trips', async () => {
    await run(['p.ts', '--format', 'ir']);
    const text = out.join('');
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(toIR(demo as never))));
    expect(text.indexOf('"components"')).toBeLessThan(text.indexOf('"dag"'));
  });
  it('prints the DAG as Mermaid and DOT', async () => {
    await run(['p.ts', '--graph', 'mermaid']);
    expect(out.join('')).toMatch(/^flowchart TD\n/);
    expect(out.join('')).toContain('-->');
    out.length = 0;
    await run(['p.ts', '--graph', 'dot']);
    expect(out.join('')).toMatch(/^digraph "cli-demo" \{/);
  });
  it('prints every issue, exits non-zero and writes nothing on error', async () => {
    const file = path.join(dir, 'never.yaml');
    await run(['p.ts', '-o', file, '--param', 'nope=1', '--param', 'bad']);
    expect(process.exitCode).toBe(2);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    expect(err.join('')).toBe('p.ts: 1 problem, nothing written:\ncli-demo/params: --param expects name=value, got "bad"\n');
  });
});
