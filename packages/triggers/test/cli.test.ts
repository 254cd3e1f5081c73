import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const bin = join(root, 'packages/runner/bin/sluice.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'sluice-triggers-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const file = 'packages/triggers/test/fixtures/cli-triggers.ts';

function sluice(...args: string[]) {
  return sluiceEnv({}, ...args);
}
function sluiceEnv(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, 'triggers', ...args], { cwd: root, env: { ...process.env, CI: '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('sluice triggers: the store', () => {
  it('is found as every verb finds it: SLUICE_STORE, else the nearest .sluice/ above; none is made in the working directory', () => {
    const project = join(tmp, 'found');
    const sub = join(project, 'src', 'deep');
    mkdirSync(sub, { recursive: true });
    const run = (cwd: string, env: Record<string, string>, ...args: string[]) => spawnSync(process.execPath, [bin, 'triggers', ...args], { cwd, env: { ...process.env, CI: '', SLUICE_STORE: '', ...env }, encoding: 'utf8', timeout: 60_000 });
    // the daemon makes the store where it is told (SLUICE_STORE), then a subfolder of the project finds it
    const made = run(sub, { SLUICE_STORE: join(project, '.sluice') }, 'serve', '-f', join(root, file), '--for', '1s', '--tick', '50');
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toContain(`(store ${join(project, '.sluice')},`);
    expect(existsSync(join(project, '.sluice', 'state.db'))).toBe(true);
    const found = run(sub, {}, 'serve', '-f', join(root, file), '--for', '1s', '--tick', '50');
    expect(found.status, found.stderr).toBe(0);
    expect(found.stdout).toContain(`(store ${join(project, '.sluice')},`);
    expect(existsSync(join(sub, '.sluice'))).toBe(false);
  }, 120_000);
});

describe('sluice triggers', () => {
  it('test: filter -> mapping -> policy on one event, nothing started', () => {
    const ev = join(tmp, 'ev.json');
    writeFileSync(ev, JSON.stringify({ uri: 's3://raw/a.csv', rows: 12, time: '2026-01-01T00:00:00Z' }));
    const r = sluice('test', 'hook', '-f', file, '--store', join(tmp, 'none'), '--event', ev);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^fire: fire\ndedupe key: hook\|uri=s3:\/\/raw\/a\.csv\nrun: hook-[0-9a-f]{12}\nparams: \{"epochs":12,"source":"s3:\/\/raw\/a\.csv"\}\n$/);
    writeFileSync(ev, JSON.stringify({ uri: 's3://raw/a.csv', rows: 'many' }));
    const bad = sluice('test', 'hook', '-f', file, '--event', ev, '--store', join(tmp, 'none'));
    expect([bad.code, bad.out]).toEqual([1, 'skip: mapping: params.epochs: expected integer, got string "many"\n']);
  });

  it('replay: a timeline of what a schedule would have done, with its max-fires rule', () => {
    const r = sluice('replay', 'nightly', '-f', file, '--store', join(tmp, 'none'), '--since', '7d');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^time\s+statistic\s+n\s+threshold\s+decision\s+reason$/);
    const rows = lines.slice(1, -1);
    expect(rows.length).toBeGreaterThanOrEqual(6);
    expect(rows.filter((l) => / fire /.test(l))).toHaveLength(5);
    expect(rows.filter((l) => / suppress /.test(l)).every((l) => /max fires: 5 in the last 7d \(limit 5\)$/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^5 fires, \d+ suppressed, 0 skipped since \d{4}-\d\d-\d\dT/);
    // every tick is 03:00 in Berlin: 02:00Z in winter
    expect(rows.every((l) => /^\d{4}-\d\d-\d\dT0[12]:00:00Z /.test(l))).toBe(true);
  });

  it('serve, then list and explain the last decision with its evidence', () => {
    const dir = join(tmp, 'served');
    mkdirSync(join(dir, 'in'), { recursive: true });
    writeFileSync(join(dir, 'in', 'a.csv'), 'x\n1\n');
    const env = { TRIGGERS_TEST_DIR: join(dir, 'in') };
    const f = 'packages/triggers/test/fixtures/crash-triggers.ts';
    const store = join(dir, '.sluice');
    const served = sluiceEnv(env, 'serve', '-f', f, '--store', store, '--tick', '50', '--until-idle');
    expect(served.code, served.err).toBe(0);
    expect(served.out).toMatch(/arrivals fire: fire -> arrivals-[0-9a-f]{12}\n/);
    const list = sluiceEnv(env, 'list', '-f', f, '--store', store);
    expect(list.out).toMatch(/^trigger\s+source\s+target\s+fires\s+last decision\narrivals\s+data \S+\/\*\.csv\s+train\s+1\s+\S+ fire: fire\n$/);
    const ex = sluiceEnv(env, 'explain', 'arrivals', '-f', f, '--store', store);
    expect(ex.code).toBe(0);
    expect(ex.out).toMatch(/^arrivals at \S+: fire: fire\nrun: arrivals-[0-9a-f]{12} \(dedupe key arrivals\|key=a\.csv\|etag=4-\d+\)\nevent: \{"uri":"file:\/\/\S+a\.csv","key":"a\.csv","size":4,/);
    expect(ex.out).toMatch(/\nstate: armed=true streak=0 running=- queued=0 last fire=\S+\n$/);
  });

  it('compile: the Argo objects of a triggers file as YAML, written to -o; a bad file writes nothing and exits 2', () => {
    const out = join(tmp, 'triggers.yaml');
    const r = sluice('compile', 'packages/triggers/test/fixtures/compile-triggers.ts', '-o', out, '-n', 'ml', '--image', 'ghcr.io/acme/sluice:1', '--pipeline-image', 'ghcr.io/acme/train:1');
    expect([r.code, r.err]).toEqual([0, `wrote 17 objects to ${out}\n`]);
    const docs = parseAllDocuments(readFileSync(out, 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } });
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'WorkflowTemplate/after-train-gate', 'ConfigMap/after-train-trigger', 'ConfigMap/after-train-state', 'Sensor/after-train',
      'WorkflowTemplate/landed-gate', 'ConfigMap/landed-trigger', 'ConfigMap/landed-state', 'Sensor/landed',
      // train announces its end (exit hook) for after-train; report is the compiler's template as it is
      'CronWorkflow/nightly', 'WorkflowTemplate/train', 'EventSource/landed-source', 'EventSource/sluice-runs',
      'EventBus/default', 'ServiceAccount/sluice-triggers', 'Role/sluice-triggers', 'RoleBinding/sluice-triggers',
      'WorkflowTemplate/report',
    ]);
    expect(docs.every((d) => d.metadata.namespace === 'ml')).toBe(true);
    // stdout gives the same bytes
    expect(sluice('compile', 'packages/triggers/test/fixtures/compile-triggers.ts', '-n', 'ml', '--image', 'ghcr.io/acme/sluice:1', '--pipeline-image', 'ghcr.io/acme/train:1').out).toBe(readFileSync(out, 'utf8'));
    // targets without an entry: located messages, exit 2, no file
    const bad = join(tmp, 'bad.yaml');
    const b = sluice('compile', file, '-o', bad, '--image', 'x');
    expect(b.code).toBe(2);
    expect(b.err).toContain('hook/target: the target train has no entry');
    expect(b.err).not.toMatch(/\n\s+at /);
    expect(existsSync(bad)).toBe(false);
    const noDir = sluice('compile', 'packages/triggers/test/fixtures/compile-triggers.ts', '-o', join(tmp, 'nope', 'x.yaml'), '--image', 'x', '--pipeline-image', 'y');
    expect([noDir.code, noDir.err]).toEqual([2, `sluice: -o ${join(tmp, 'nope', 'x.yaml')}: directory ${join(tmp, 'nope')} does not exist\n`]);
  });

  it('bad input: one located message and exit 2', () => {
    const r = sluice('explain', 'nope', '-f', file, '--store', join(tmp, 'none'));
    expect([r.code, r.err]).toEqual([2, 'sluice: no trigger "nope" (there are: hook, nightly)\n']);
    const broken = join(tmp, 'broken.ts');
    writeFileSync(broken, `import { schedule, trigger } from '${join(root, 'packages/triggers/src/define.ts')}';\nimport { train } from '${join(root, 'packages/triggers/test/helpers.ts')}';\nexport const t = trigger({ name: 'x', source: schedule({ cron: '0 25 * * *', timezone: 'Mars/Olympus' }), target: train, params: () => ({ source: 'a' }) });\n`);
    const b = sluice('list', '-f', broken);
    expect(b.code).toBe(2);
    expect(b.err).toContain('x/source.schedule: unknown time zone "Mars/Olympus" (an IANA name such as "Europe/Berlin")');
    expect(b.err).not.toMatch(/\n\s+at /);
    // a file given as the store is refused by name, as the runner's verbs refuse it (before: serve made
    // nothing and exited 1 with ENOTDIR, list and explain read /dev/null as a store without state)
    for (const verb of [['serve', '--for', '1s'], ['list'], ['explain', 'nope']]) {
      const f = sluice(...verb, '-f', file, '--store', '/dev/null');
      expect([f.code, f.err.split('\n')[0]], verb[0]).toEqual([2, "sluice: option '--store <dir>' argument '/dev/null' is invalid. /dev/null exists and is not a directory."]);
    }
  });
});
