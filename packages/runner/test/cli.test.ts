import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmp } from './helpers.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.mjs');
const ENTRY = join(import.meta.dirname, 'fixtures', 'basic.ts');

function sluice(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('sluice CLI', () => {
  const dir = tmp();
  let runId = '';

  it('dry run shows the plan and writes nothing', () => {
    const r = sluice(dir, 'run', ENTRY, '--dry-run', '-p', 'x=4');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('dry run of basic: nothing is run and nothing is written');
    expect(r.out).toContain('params {"how":"ok","x":4}');
    expect(r.out).toMatch(/wave 1\n(.*\n)*  ▶ one  run  \(a=4, b=1\)/);
    expect(r.out).toMatch(/wave 2\n  ▶ two  run — cache decided at run time/);
    expect(sluice(dir, 'runs').err).toMatch(/no Sluice state/);
  });

  it('runs in child processes, one line per event without a terminal', () => {
    const r = sluice(dir, 'run', ENTRY, '-p', 'x=4');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/task\.started\s+one\s+attempt 1/);
    runId = /run (\S+) succeeded/.exec(r.out)?.[1] ?? '';
    expect(runId).toMatch(/^basic-/);
  });

  it('prints the pipeline outputs at the end: values, and artifacts with content hash and store path (also --json and show)', () => {
    const r = sluice(dir, 'run', ENTRY, '-p', 'x=7', '--no-cache');
    expect(r.code, r.err).toBe(0);
    const m = /outputs\n {2}data {2}Dataset {2}sha256:([0-9a-f]{16}) {2}(\S+)\n {2}pid {3}\d+\n {2}two {3}9\n$/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    const [, short, path] = m as unknown as [string, string, string];
    expect(path).toBe(`.sluice/artifacts/sha256/${short.slice(0, 2)}/${path.split('/').pop()}`);
    expect(path.split('/').pop()?.startsWith(short)).toBe(true);
    expect(readFileSync(join(dir, path), 'utf8')).toBe('hi');
    const id = /run (\S+) succeeded/.exec(r.out)?.[1] as string;
    expect(sluice(dir, 'show', id).out).toContain(`outputs\n  data  Dataset  sha256:${short}  ${path}\n  pid   `);
    const j = sluice(dir, 'run', ENTRY, '-p', 'x=7', '--json');
    const fin = j.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; outputs?: Record<string, { hash?: string; path?: string }> }).find((e) => e.type === 'run.finished');
    expect(fin?.outputs?.two).toBe(9);
    expect(fin?.outputs?.data?.path).toBe(join(dir, path));
    expect(fin?.outputs?.data?.hash?.startsWith(short)).toBe(true);
  });

  it('dry run after a run says which steps the cache serves', () => {
    const r = sluice(dir, 'run', ENTRY, '--dry-run', '-p', 'x=4');
    expect(r.out).toMatch(/◆ one  cached — served from cache \(basic-.*\/one\)/);
    expect(r.out).toMatch(/◆ two  cached/);
  });

  it('--json emits machine-readable events; a re-run is served from the cache and show says why a step missed', () => {
    const r = sluice(dir, 'run', ENTRY, '-p', 'x=10', '--json');
    const events = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; key?: string; runId: string });
    expect(events.filter((e) => e.type === 'task.cached').map((e) => e.key).sort()).toEqual(['b', 'w']);
    const second = events[0]?.runId as string;
    const show = sluice(dir, 'show', second);
    expect(show.out).toMatch(/one\s+succeeded\s+1\s+\S+\s+miss: parameter a changed/);
    expect(show.out).toMatch(/w\s+cached\s+0\s+\S+\s+hit \(from basic-/);
    expect(show.out).toMatch(/git\s+/);
  });

  it('lists runs, prints logs and walks lineage', () => {
    const runs = sluice(dir, 'runs');
    expect(runs.out).toMatch(new RegExp(`${runId}\\s+basic\\s+succeeded`));
    const show = sluice(dir, 'show', runId, '--json');
    const art = (JSON.parse(show.out) as { artifacts: { hash: string; task: string }[] }).artifacts[0];
    expect(art?.task).toBe('w');
    const lin = sluice(dir, 'lineage', (art?.hash as string).slice(0, 12));
    expect(lin.out).toMatch(new RegExp(`^${art?.hash.slice(0, 16)}  Dataset from w\\.data in run ${runId}`));
    expect(lin.out).toContain('with {"text":"hi"}');
    expect(sluice(dir, 'logs', runId).code).toBe(0);
  });

  it('fails clearly on bad parameters and unknown runs', () => {
    const bad = sluice(dir, 'run', ENTRY, '-p', 'x=fast');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('basic/params.x: expected number, got "fast"');
    expect(sluice(dir, 'show', 'nope').err).toContain('no run "nope"');
  });
});
