// Every bad flag and bad input through the real binary: exit code 2, one located line, never our
// stack, and nothing written (no .sluice/ appears).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tmp } from '../helpers.ts';
import { OUR_STACK, sluice } from './sluice.ts';

const BASIC = join(import.meta.dirname, '..', 'fixtures', 'basic.ts');
const THROWS = join(import.meta.dirname, 'throws.ts');
const BADNAME = join(import.meta.dirname, 'badname.ts');
const TRIGGERS = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'continuous-training', 'triggers.ts');
const EXAMPLE = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'tabular-training', 'pipeline.ts');
// files the loader cannot build (written here: the repository's type check would refuse them)
const broken = tmp('sluice-broken-');
afterAll(() => rmSync(broken, { recursive: true, force: true }));
const SYNTAX = join(broken, 'syntax.ts');
writeFileSync(SYNTAX, "import { pipeline } from '@sluice/sdk';\n\nexport default pipeline({ name: 'x' }, () => { const a = ; });\n");
const LONG_STORE = join(broken, 'a'.repeat(240), 'b'.repeat(240));
// a FIFO named like a pipeline file: reading it would block the build and the scan for ever
const FIFO = join(broken, 'fifo.ts');
spawnSync('mkfifo', [FIFO]);
const UNRESOLVED = join(broken, 'unresolved.ts');
writeFileSync(UNRESOLVED, "export { helper } from './src/missing.ts';\n");

/** [argv, first line of stderr (a regex)]: each must exit 2 and write nothing. */
const BAD: [string[], RegExp][] = [
  [['run', BASIC, '--concurrency', 'abc'], /^sluice: option '--concurrency <n>' argument 'abc' is invalid\. expected a whole number of at least 1\.$/],
  [['run', BASIC, '--concurrency', '0'], /^sluice: option '--concurrency <n>' argument '0' is invalid\. expected a whole number of at least 1\.$/],
  [['run', BASIC, '--concurrency', '-3'], /^sluice: option '--concurrency <n>' argument '-3' is invalid\./],
  [['run', BASIC, '--concurrency', '1.5'], /^sluice: option '--concurrency <n>' argument '1\.5' is invalid\./],
  [['run', BASIC, '--grace', 'abc'], /^sluice: option '--grace <ms>' argument 'abc' is invalid\. expected a whole number \(0 or more\)\.$/],
  [['run', BASIC, '--grace', '-5'], /^sluice: option '--grace <ms>' argument '-5' is invalid\./],
  [['run', BASIC, '--store', ''], /^sluice: option '--store <dir>' argument '' is invalid\. expected a directory, got an empty path\.$/],
  [['run', BASIC, '--store', '/dev/null'], /^sluice: option '--store <dir>' argument '\/dev\/null' is invalid\. \/dev\/null exists and is not a directory\.$/],
  // SQLite opens paths of at most 504 bytes: said before anything is made (before: an internal SqliteError)
  [['run', BASIC, '--store', LONG_STORE], /^sluice: the store's path is too long for SQLite: .* is 5\d\d bytes, at most 504 open; give --store or SLUICE_STORE a shorter folder/],
  [['runs', '--store', '/dev/null'], /^sluice: option '--store <dir>' argument '\/dev\/null' is invalid\. \/dev\/null exists and is not a directory\.$/],
  [['show', 'latest', '--store', '/dev/null'], /^sluice: option '--store <dir>' argument '\/dev\/null' is invalid\./],
  [['models', 'list', '--store', '/dev/null'], /^sluice: option '--store <dir>' argument '\/dev\/null' is invalid\./],
  [['runs', '--limit', 'abc'], /^sluice: option '-n, --limit <n>' argument 'abc' is invalid\. expected a whole number of at least 1\.$/],
  [['compile', BASIC, '--format', 'yml'], /^sluice: option '--format <format>' argument 'yml' is invalid\. Allowed choices are argo, ir\.$/],
  [['compile', BASIC, '--graph', 'png'], /^sluice: option '--graph <format>' argument 'png' is invalid\. Allowed choices are mermaid, dot\.$/],
  [['compile', BASIC, '--kind', 'bogus'], /^sluice: option '--kind <kind>' argument 'bogus' is invalid\. Allowed choices are workflow, template, cron\.$/],
  [['run', BASIC, '--containers', 'maybe'], /^sluice: option '--containers <policy>' argument 'maybe' is invalid\. Allowed choices are auto, require, host\.$/],
  [['run', BASIC, '--bogus'], /^sluice: unknown option '--bogus'$/],
  [['run', '.'], /^sluice: \.: is a directory, not a pipeline file/],
  [['run', 'missing.ts'], /^sluice: missing\.ts: no such file$/],
  [['compile', '.'], /^sluice: \.: is a directory, not a pipeline file/],
  [['compile', FIFO], /^sluice: .*fifo\.ts: is not a regular file \(a device, FIFO or socket\), not a pipeline file/],
  [['compile', '/dev/zero'], /^sluice: \/dev\/zero: is not a regular file/],
  [['run', FIFO], /^sluice: .*fifo\.ts: is not a regular file/],
  [['run', FIFO, '--dry-run'], /^sluice: .*fifo\.ts: is not a regular file/],
  [['triggers', 'compile', FIFO, '--image', 'x'], /^sluice: .*fifo\.ts: is not a regular file \(a device, FIFO or socket\), not a triggers file$/],
  [['triggers', 'compile', '/dev/zero', '--image', 'x'], /^sluice: \/dev\/zero: is not a regular file/],
  [['triggers', 'serve', '--file', TRIGGERS, '--tick', 'abc'], /^sluice: --tick expects whole milliseconds, at least 10, got "abc"$/],
  [['triggers', 'serve', '--file', TRIGGERS, '--port', '70000'], /^sluice: --port expects a port number \(0 for any free port\), got "70000"$/],
  [['triggers', 'serve', '--file', TRIGGERS, '--for', 'bogus'], /^sluice: --for expects a duration such as 30s or 10m, got "bogus"$/],
  [['init', '/dev/null/x'], /^sluice init: cannot write the project into \/dev\/null\/x: ENOTDIR: not a directory/],
  [['compile', BASIC, '-o', 'nowhere/x.yaml'], /^sluice: -o nowhere\/x\.yaml: directory .*nowhere does not exist$/],
  [['run', BASIC, '-p', 'x'], /^sluice: --param expects name=value, got "x"$/],
  [['run', BASIC, '-p', 'x=abc'], /^sluice: invalid parameters:$/],
  [['run', BASIC, '-p', 'nope=1'], /^sluice: invalid parameters:$/],
  [['run', BASIC, '--dry-run', '-p', 'x'], /^sluice: --param expects name=value, got "x"$/],
  [['run', BASIC, '--run-id', '../../escaped/x'], /^sluice: invalid run id "\.\.\/\.\.\/escaped\/x": use letters, digits/],
  [['run', BASIC, '--run-id', '..'], /^sluice: invalid run id "\.\.":/],
  // an empty value (an unset variable) is refused, not taken as "not given" (before: the default, silently)
  [['run', BASIC, '--run-id', ''], /^sluice: option '--run-id <id>' argument '' is invalid\. expected a value, got an empty string \(an unset variable\?\)\.$/],
  [['compile', EXAMPLE, '--image', ''], /^sluice: option '--image <image>' argument '' is invalid\. expected a value, got an empty string/],
  [['compile', EXAMPLE, '--name', ''], /^sluice: option '--name <name>' argument '' is invalid\./],
  [['compile', EXAMPLE, '--namespace', ''], /^sluice: option '--namespace <namespace>' argument '' is invalid\./],
  [['compile', EXAMPLE, '--export', ''], /^sluice: option '--export <name>' argument '' is invalid\./],
  [['compile', EXAMPLE, '-p', ''], /^sluice: option '-p, --param <name=value>' argument '' is invalid\./],
  [['compile', ''], /^sluice: argument 'pipeline' is empty \(an unset variable\?\): give a value\.$/],
  [['run', ''], /^sluice: argument 'file' is empty/],
  // a nested verb's commander messages read as the others' (before: "error: required option ...")
  [['triggers', 'compile', TRIGGERS], /^sluice: required option '--image <image>' not specified$/],
  [['run', THROWS], /^sluice: .*throws\.ts:2:\d+: SyntaxError: .*JSON/],
  [['run', THROWS, '--in-process'], /^sluice: .*throws\.ts:2:\d+: SyntaxError: .*JSON/],
  [['compile', THROWS], /^sluice: .*throws\.ts:2:\d+: SyntaxError: .*JSON/],
  // at the place in the user's file (not at a frame of Node's streams, as before)
  [['run', SYNTAX], /^sluice: .*syntax\.ts:3:58: Error: Unexpected ";"$/],
  [['compile', SYNTAX], /^sluice: .*syntax\.ts:3:58: Error: Unexpected ";"$/],
  [['compile', UNRESOLVED], /^sluice: .*unresolved\.ts:1:24: Error: Could not resolve "\.\/src\/missing\.ts"$/],
  [['run', BADNAME], /^sluice: .*badname\.ts:6:\d+: TypeError: pipeline: name "Bad Name!" must be lowercase letters/],
  [['compile', BADNAME], /^sluice: .*badname\.ts:6:\d+: TypeError: pipeline: name "Bad Name!" must be lowercase letters/],
  [['compile', BASIC, '--kind', 'cron', '--schedule', 'every tuesday', '--timezone', 'Mars/Olympus'], /^.*basic\.ts: 2 problems, nothing written:$/],
  [['compile', BASIC, '--kind', 'cron', '--schedule', '61 * * * *'], /^.*basic\.ts: 1 problem, nothing written:$/],
  [['compile', BASIC, '--kind', 'cron'], /^.*basic\.ts: 1 problem, nothing written:$/],
  [['compile', EXAMPLE, '--namespace', 'Bad_NS', '--name', 'UPPER'], /^.*pipeline\.ts: 2 problems, nothing written:$/],
  [['compile', EXAMPLE, '--image', 'ghcr.io/acme/train 1.4'], /^.*pipeline\.ts: \d+ problems?, nothing written:$/],
  [['resume', 'no-such-run'], /^sluice: /],
];

async function pool<T, R>(items: readonly T[], n: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i] as T);
    }
  }));
  return out;
}

describe('bad flags and bad input (real binary)', () => {
  it('each exits 2 with its one-line message, no stack, and writes nothing', async () => {
    const results = await pool(BAD, 3, async ([argv]) => {
      const dir = tmp('sluice-flags-');
      const r = await sluice(dir, argv);
      return { argv, r, files: readdirSync(dir) };
    });
    const wrong: string[] = [];
    results.forEach(({ argv, r, files }, i) => {
      const first = r.err.split('\n')[0] ?? '';
      const [, want] = BAD[i] as [string[], RegExp];
      if (r.code !== 2 || !want.test(first) || OUR_STACK.test(r.err) || files.length)
        wrong.push(`${argv.join(' ')} -> exit ${r.code}, files [${files.join(',')}], stderr: ${r.err.slice(0, 400)}`);
    });
    expect(wrong).toEqual([]);
  }, 300_000);

  it('cron and time zone problems are located; a re-used run id is refused by name', async () => {
    const dir = tmp('sluice-flags-');
    const c = await sluice(dir, ['compile', BASIC, '--kind', 'cron', '--schedule', 'every tuesday', '--timezone', 'Mars/Olympus']);
    expect(c.err).toContain('--schedule[0]: "every tuesday" is not a cron schedule');
    expect(c.err).toContain('--timezone: unknown time zone "Mars/Olympus"');
    const ok = await sluice(dir, ['compile', EXAMPLE, '--kind', 'cron', '--schedule', '0 3 * * 2', '--timezone', 'Europe/Paris']);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain('kind: CronWorkflow');
    const first = await sluice(dir, ['run', BASIC, '--run-id', 'mine-1']);
    expect(first.code, first.err).toBe(0);
    const again = await sluice(dir, ['run', BASIC, '--run-id', 'mine-1']);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/^sluice: a run with id mine-1 already exists in .*; choose another --run-id, or continue it with `sluice resume mine-1`\n$/);
  }, 180_000);

  it('a rejected pipeline makes compile exit 2 (not 0) and writes no manifest; --version and -p work', async () => {
    const dir = tmp('sluice-flags-');
    const rejected = await sluice(dir, ['compile', EXAMPLE, '-o', 'out.yaml', '-p', 'minAccuracy=abc']);
    expect(rejected.code, rejected.err).toBe(2);
    expect(rejected.err).toContain('1 problem, nothing written:\ntabular-training/params.minAccuracy: expected number, got "abc"');
    expect(existsSync(join(dir, 'out.yaml'))).toBe(false);
    const good = await sluice(dir, ['compile', EXAMPLE, '-o', 'out.yaml', '-p', 'minAccuracy=0.5']);
    expect(good.code, good.err).toBe(0);
    expect(existsSync(join(dir, 'out.yaml'))).toBe(true);
    const v = await sluice(dir, ['--version']);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^\d+\.\d+\.\d+\n$/);
  }, 180_000);

  it('SLUICE_DEBUG=1 shows the whole stack of an error in the user module', async () => {
    const dir = tmp('sluice-flags-');
    const r = await sluice(dir, ['run', THROWS], { SLUICE_DEBUG: '1' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SyntaxError[\s\S]*\n\s+at /);
  }, 60_000);

  it('an empty run id and an artifact name that is not a hash name nothing (before: the newest run, any artifact)', async () => {
    const dir = tmp('sluice-flags-');
    const run = await sluice(dir, ['run', BASIC]);
    expect(run.code, run.err).toBe(0);
    writeFileSync(join(dir, 'data.csv'), 'a,b\n');
    const empty = /^sluice: argument 'run' is empty \(an unset variable\?\): give a value\.$/;
    const rows: [string[], RegExp][] = [
      ...['show', 'stop', 'logs', 'resume', 'retry', 'metrics'].map((v): [string[], RegExp] => [[v, ''], empty]),
      [['compare', '', 'latest'], /^sluice: argument 'runs' is empty/],
      [['cat', ''], /^sluice: argument 'artifact' is empty/],
      [['cat', 'zz'], /^sluice: no artifact "zz" \(give <run>\/<task>\/<output> or a content-hash prefix\)$/],
      [['cat', 'sha256:'], /^sluice: no artifact "sha256:"/],
      [['lineage', 'my-model'], /^sluice: no artifact my-model in .*state\.db: give a sha256 \(prefix\)/],
      [['lineage', 'data.csv'], /^sluice: no artifact data\.csv in /],
    ];
    const got = await pool(rows, 3, async ([argv, want]) => ({ argv, want, r: await sluice(dir, argv) }));
    for (const { argv, want, r } of got) {
      expect(r.code, `${argv.join(' ')}: ${r.out}${r.err}`).toBe(2);
      expect(r.err.split('\n')[0], argv.join(' ')).toMatch(want);
      expect(r.err, argv.join(' ')).not.toMatch(OUR_STACK);
    }
    // the run was not stopped, resumed or retried by any of them
    const show = await sluice(dir, ['show', 'latest', '--json']);
    expect(JSON.parse(show.out).status).toBe('succeeded');
  }, 120_000);

  it('every verb reports its exit code through the binary', async () => {
    const dir = tmp('sluice-flags-');
    const run = await sluice(dir, ['run', BASIC, '-p', 'how=throw']);
    expect(run.code, run.err).toBe(1);
    const id = /run (\S+) failed/.exec(run.out)?.[1] as string;
    const codes = await pool([['show', id], ['runs'], ['logs', id], ['lineage', 'ffffff'], ['show', 'nope'], ['verify'], ['gc', '--dry-run'], ['help'], ['compile', EXAMPLE, '--format', 'ir']], 3, async (a) => [a.join(' '), (await sluice(dir, a)).code] as const);
    expect(Object.fromEntries(codes)).toEqual({ [`show ${id}`]: 0, runs: 0, [`logs ${id}`]: 0, 'lineage ffffff': 2, 'show nope': 2, verify: 0, 'gc --dry-run': 0, help: 0, ['compile ' + EXAMPLE + ' --format ir']: 0 });
  }, 180_000);
});
