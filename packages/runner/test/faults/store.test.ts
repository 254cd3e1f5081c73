// The store under faults: artifacts changed in place, a full disk, a store locked by another process, a hot journal, GPUs shared by runs.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/store/state.ts';
import { tmp } from '../helpers.ts';
import { BIN, FIXTURES, OUR_STACK, sluice, until } from './sluice.ts';

function objectPath(dir: string, runId: string, key: string, output: string): string {
  const s = StateStore.open(join(dir, '.sluice', 'state.db'), { readonly: true });
  try {
    const a = s.artifactsOfRun(runId).find((x) => x.task_key === key && x.output === output);
    if (!a) throw new Error(`no artifact ${key}.${output} in ${runId}`);
    return join(dir, '.sluice', 'artifacts', 'sha256', a.hash.slice(0, 2), a.hash);
  } finally {
    s.close();
  }
}

describe('content-addressed artifacts stay what their hash says', () => {
  it('stored objects are read-only; a step writing into its input fails clearly and the object is not kept corrupt', async () => {
    const dir = tmp('sluice-cas-');
    const first = await sluice(dir, ['run', FIXTURES, '--export', 'cas', '--run-id', 'c1']);
    expect(first.code, first.err).toBe(0);
    const obj = objectPath(dir, 'c1', 'p', 'data');
    expect(statSync(obj).mode & 0o222).toBe(0);
    expect(statSync(join(dir, '.sluice')).mode & 0o077).toBe(0); // the store is its owner's only
    expect(statSync(join(dir, '.sluice', 'state.db')).mode & 0o077).toBe(0);
    const bad = await sluice(dir, ['run', FIXTURES, '--export', 'cas', '--run-id', 'c2', '--no-cache'], { SLUICE_TEST_TAMPER: '1' });
    if (process.getuid?.() === 0) {
      // root writes through read-only files: the change is caught after the step
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(/t: .*modified its input artifact data \(sha256:[0-9a-f]{16}\) in place/);
      expect(existsSync(obj)).toBe(false); // the damaged object is gone, not served again
    } else {
      expect(bad.out).toMatch(/seen +refused: EACCES/);
    }
    // the next run produces the right bytes again (a cache hit on a missing object is a miss)
    const again = await sluice(dir, ['run', FIXTURES, '--export', 'cas', '--run-id', 'c3']);
    expect(again.code, again.err).toBe(0);
    expect(readFileSync(objectPath(dir, 'c3', 'p', 'data'), 'utf8')).toBe('right bytes');
    expect(again.out).toMatch(/seen +right bytes/);
  }, 180_000);

  it('a byte flipped outside any step is caught on a cache hit and by sluice verify; gc removes what nothing refers to', async () => {
    const dir = tmp('sluice-cas-');
    expect((await sluice(dir, ['run', FIXTURES, '--export', 'cas', '--run-id', 'v1'])).code).toBe(0);
    const obj = objectPath(dir, 'v1', 'p', 'data');
    chmodSync(obj, 0o644);
    writeFileSync(obj, 'right bytez');
    const v = await sluice(dir, ['verify']);
    expect(v.code).toBe(1);
    expect(v.out).toContain(`corrupt  sha256:${obj.split('/').pop()}`);
    expect(v.out).toMatch(/1 object checked: 1 corrupt, 0 missing/);
    // a cache hit checks its objects: the damaged one is removed and the producer runs again
    const hit = await sluice(dir, ['run', FIXTURES, '--export', 'cas', '--run-id', 'v2']);
    expect(hit.code, hit.err).toBe(0);
    expect(hit.out).toMatch(/warning.*artifact sha256:[0-9a-f]{16} was modified after it was stored/);
    expect(hit.out).toMatch(/task\.started\s+p/);
    expect(readFileSync(obj, 'utf8')).toBe('right bytes');
    expect((await sluice(dir, ['verify'])).code).toBe(0);
    // an object no record refers to goes with gc
    const stray = join(dir, '.sluice', 'artifacts', 'sha256', 'ab', 'ab'.padEnd(64, '0'));
    mkdirSync(join(stray, '..'), { recursive: true });
    writeFileSync(stray, 'nobody');
    const dry = await sluice(dir, ['gc', '--dry-run']);
    expect(dry.out).toContain(`would remove  sha256:${'ab'.padEnd(64, '0')}`);
    expect(existsSync(stray)).toBe(true);
    const gc = await sluice(dir, ['gc']);
    expect(gc.code, gc.err).toBe(0);
    expect(existsSync(stray)).toBe(false);
    expect(existsSync(obj)).toBe(true);
  }, 180_000);

  it('a run that starts while sluice gc removes objects waits for it: an object it reuses by its hash is not removed under it', async () => {
    const dir = tmp('sluice-gc-race-');
    expect((await sluice(dir, ['run', FIXTURES, '--export', 'cas', '--run-id', 'g0'])).code).toBe(0);
    // bytes whose object sorts after every stray object below: gc reaches it last
    let bytes = '';
    for (let n = 0; ; n++) {
      bytes = `left over ${n}`;
      if (createHash('sha256').update(bytes).digest('hex').startsWith('f')) break;
    }
    const hash = createHash('sha256').update(bytes).digest('hex');
    const sha = join(dir, '.sluice', 'artifacts', 'sha256');
    // the object, left by a run whose records are gone (nothing refers to it), and 20,000 strays before it
    const obj = join(sha, hash.slice(0, 2), hash);
    mkdirSync(join(obj, '..'), { recursive: true });
    writeFileSync(obj, bytes);
    for (let i = 0; i < 20_000; i++) {
      const h = createHash('sha256').update(`stray ${i}`).digest('hex').replace(/^f/, 'e');
      mkdirSync(join(sha, h.slice(0, 2)), { recursive: true });
      writeFileSync(join(sha, h.slice(0, 2), h), '');
    }
    const count = () => readdirSync(sha).reduce((n, d) => n + readdirSync(join(sha, d)).length, 0);
    const before = count();
    const gc = spawn(process.execPath, [BIN, 'gc'], { cwd: dir, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let gcErr = '';
    gc.stderr.on('data', (d: Buffer) => (gcErr += d));
    const gcDone = new Promise<number | null>((r) => gc.on('close', (code) => r(code)));
    try {
      // stopped while it removes (the strays first): the object is still there, unreferenced
      expect(await until(() => count() < before || gc.exitCode !== null, 60_000, 5)).toBe(true);
      process.kill(gc.pid!, 'SIGSTOP');
      expect(gc.exitCode, gcErr).toBe(null);
      expect(existsSync(obj)).toBe(true);
      const run = spawn(process.execPath, [BIN, 'run', FIXTURES, '--export', 'leftover', '--run-id', 'g1'], { cwd: dir, env: { ...process.env, CI: '1', SLUICE_TEST_BYTES: bytes }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      run.stdout.on('data', (d: Buffer) => (out += d));
      run.stderr.on('data', (d: Buffer) => (out += d));
      const runDone = new Promise<number | null>((r) => run.on('close', (code) => r(code)));
      // it waits for gc (before, it ran at once, reused the object and gc removed it afterwards)
      await until(() => /run\.waiting/.test(out) || run.exitCode !== null, 60_000);
      process.kill(gc.pid!, 'SIGCONT');
      expect(await gcDone, gcErr).toBe(0);
      expect(await runDone, out).toBe(0);
      expect(objectPath(dir, 'g1', 'p', 'data')).toBe(obj);
      const v = await sluice(dir, ['verify']);
      expect(v.out).toMatch(/0 corrupt, 0 missing/);
      expect(readFileSync(obj, 'utf8')).toBe(bytes);
      expect(out).toMatch(/run\.waiting .*sluice gc \(pid \d+ on .*\) is removing unreferenced objects from this store; the run starts when it ends/);
    } finally {
      try { process.kill(gc.pid!, 'SIGCONT'); } catch { /* ended */ }
      gc.kill('SIGKILL');
    }
  }, 240_000);

  it('gc and verify --remove refuse while a run is driven, gc while another gc sweeps; a run stops waiting at Ctrl-C', async () => {
    const dir = tmp('sluice-gc-lock-');
    expect((await sluice(dir, ['run', FIXTURES, '--export', 'cas', '--run-id', 'l0'])).code).toBe(0);
    const db = join(dir, '.sluice', 'state.db');
    // a sweep held by a live process (this one): gc and verify --remove refuse, a run waits
    const s = StateStore.open(db);
    try {
      expect(s.beginSweep('test-holder', Date.now()).ok).toBe(true);
      const second = await sluice(dir, ['gc']);
      expect(second.code).toBe(1);
      expect(second.err).toMatch(new RegExp(`^sluice: another sluice gc \\(pid ${process.pid} on .*\\) is removing objects from this store; run gc when it ends\n$`));
      const run = spawn(process.execPath, [BIN, 'run', FIXTURES, '--export', 'leftover', '--run-id', 'l1'], { cwd: dir, env: { ...process.env, CI: '1', SLUICE_TEST_BYTES: 'x' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      run.stdout.on('data', (d: Buffer) => (out += d));
      run.stderr.on('data', (d: Buffer) => (out += d));
      const code = new Promise<number | null>((r) => run.on('close', (c) => r(c)));
      expect(await until(() => /run\.waiting/.test(out), 60_000)).toBe(true);
      run.kill('SIGINT');
      expect(await code, out).toBe(130);
      expect(out).toMatch(/sluice: run l1 stopped while it waited for sluice gc; nothing of it was recorded/);
      expect(out).not.toMatch(OUR_STACK);
      expect(s.getRun('l1')).toBeUndefined();
      expect(s.getLease('l1')).toBeUndefined();
    } finally {
      s.endSweep('test-holder');
      s.close();
    }
    // a sweep whose process is gone counts for nothing
    const w = new Database(db);
    w.prepare(`INSERT INTO locks (kind, name, run_id, task_key, holder, pid, host, acquired_at, heartbeat_at) VALUES ('sweep', 'store', '', '', 'dead', 2147483646, ?, 0, 0)`).run(hostname());
    w.close();
    expect((await sluice(dir, ['run', FIXTURES, '--export', 'leftover', '--run-id', 'l2'], { SLUICE_TEST_BYTES: 'y' })).code).toBe(0);
    // a run driven now (a live lease): gc refuses and removes nothing
    const t = StateStore.open(db);
    try {
      t.acquireLease('l9', 'test-driver', Date.now());
      const refused = await sluice(dir, ['gc']);
      expect(refused.code).toBe(1);
      expect(refused.err).toBe('sluice: run l9 is running and may store artifacts now; run gc when it ends (or --dry-run to see what would go)\n');
      // verify --remove removes under the sweep too: refused while a run is driven, the corrupt object kept
      const obj = objectPath(dir, 'l0', 'p', 'data');
      chmodSync(obj, 0o644);
      writeFileSync(obj, 'damaged');
      const v = await sluice(dir, ['verify', '--remove']);
      expect(v.code).toBe(1);
      expect(v.err).toBe('sluice: run l9 is running and may store artifacts now; run verify --remove when it ends; nothing removed\n');
      expect(readFileSync(obj, 'utf8')).toBe('damaged');
    } finally {
      t.releaseLease('l9', 'test-driver');
      t.close();
    }
    expect((await sluice(dir, ['gc'])).code).toBe(0);
    const removed = await sluice(dir, ['verify', '--remove']);
    expect(removed.out).toMatch(/corrupt  sha256:[0-9a-f]{64}  .*  \(removed\)/);
    expect(existsSync(objectPath(dir, 'l0', 'p', 'data'))).toBe(false);
  }, 180_000);

  it('an artifact parameter is regular files and directories: a device, a FIFO or a link inside is refused before anything is written; a /proc file is read to its end', async () => {
    const dir = tmp('sluice-artparam-');
    const ENTRY = join(import.meta.dirname, 'artifact-param.ts');
    mkdirSync(join(dir, 'with-fifo'));
    writeFileSync(join(dir, 'with-fifo', 'a.csv'), 'x\n');
    spawnSync('mkfifo', [join(dir, 'with-fifo', 'pipe'), join(dir, 'fifo')]);
    mkdirSync(join(dir, 'with-link'));
    symlinkSync('/etc/hostname', join(dir, 'with-link', 'l'));
    const refused: [string, RegExp][] = [
      // before: /dev/zero was stored as an empty file (the run succeeded), a FIFO crashed the run with an internal error
      ['/dev/zero', /params\.data: "\/dev\/zero" is not a regular file or a directory \(a device, FIFO or socket\)/],
      [join(dir, 'fifo'), /params\.data: ".*\/fifo" is not a regular file or a directory/],
      [join(dir, 'with-fifo'), /params\.data: ".*with-fifo\/pipe" \(in ".*with-fifo"\) is not a regular file or a directory/],
      [join(dir, 'with-link'), /params\.data: ".*with-link\/l" \(in ".*with-link"\) is a symbolic link/],
    ];
    for (const [path, want] of refused) {
      const r = await sluice(dir, ['run', ENTRY, '-p', `data=${path}`], {}, 60_000);
      expect(r.code, `${path}: ${r.out}${r.err}`).toBe(2);
      expect(r.err).toMatch(want);
      expect(r.err).toMatch(/nothing was run/);
      expect(r.err).not.toMatch(OUR_STACK);
      expect(existsSync(join(dir, '.sluice')), path).toBe(false);
    }
    // a file of /proc says its size is 0: its bytes are read to the end (before: stored empty)
    const proc = await sluice(dir, ['run', ENTRY, '-p', 'data=/proc/self/status', '--json'], {}, 60_000);
    expect(proc.code, proc.err).toBe(0);
    const done = proc.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; outputs?: { bytes?: number; head?: string } }).find((e) => e.type === 'run.finished');
    expect(done?.outputs?.head).toMatch(/^Name:\s+\S+/);
    expect(done?.outputs?.bytes).toBeGreaterThan(100);
  }, 180_000);

  it('ingesting bytes whose object exists but was damaged replaces the damaged object (--no-cache heals it)', async () => {
    const dir = tmp('sluice-cas-');
    expect((await sluice(dir, ['run', FIXTURES, '--export', 'cas', '--run-id', 'i1'])).code).toBe(0);
    const obj = objectPath(dir, 'i1', 'p', 'data');
    chmodSync(obj, 0o644);
    writeFileSync(obj, 'WRONG bytes');
    const r = await sluice(dir, ['run', FIXTURES, '--export', 'cas', '--run-id', 'i2', '--no-cache']);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(obj, 'utf8')).toBe('right bytes');
    expect(r.out).toMatch(/seen +right bytes/);
  }, 120_000);
});

describe('GPUs shared by the runs of one store', () => {
  it('two runs never hold the same GPU at once (SLUICE_GPUS=0)', async () => {
    const dir = tmp('sluice-gpu-');
    const marks = join(dir, 'marks');
    const env = { SLUICE_GPUS: '0', SLUICE_TEST_MARKS: marks, SLUICE_TEST_STEP_MS: '1500' };
    const [a, b] = await Promise.all([
      sluice(dir, ['run', FIXTURES, '--export', 'gpu', '--run-id', 'ga', '--no-cache'], env),
      sluice(dir, ['run', FIXTURES, '--export', 'gpu', '--run-id', 'gb', '--no-cache'], env),
    ]);
    expect(a.code, a.err).toBe(0);
    expect(b.code, b.err).toBe(0);
    const ev = readFileSync(marks, 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([run, what, dev, t]) => ({ run, what, dev, t: Number(t) }));
    expect(ev.map((e) => e.dev)).toEqual(['0', '0', '0', '0']);
    const span = (run: string) => [ev.find((e) => e.run === run && e.what === 'start')!.t, ev.find((e) => e.run === run && e.what === 'end')!.t] as const;
    const [as, ae] = span('ga');
    const [bs, be] = span('gb');
    expect(ae <= bs || be <= as, `GPU 0 held by both runs: ga ${as}-${ae}, gb ${bs}-${be}`).toBe(true);
    expect(a.out + b.out).toMatch(/task\.waiting\s+g .*waiting for 1 GPU: 0 in use by another run of this store/);
  }, 180_000);
});

describe('a store that cannot be written', () => {
  const mounts: string[] = [];
  afterAll(() => {
    for (const m of mounts) spawnSync('umount', ['-l', m]);
  });

  /**
   * A project directory whose `.sluice/` is a tmpfs of `size` (root only): the store of the test
   * that fills it. Where mounting is not permitted the test is skipped, saying why.
   */
  function smallStore(ctx: { skip: () => void }, size: string, what: string): { dir: string; mnt: string } {
    const dir = tmp('sluice-full-');
    const mnt = join(dir, '.sluice');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) {
      console.warn(`skipping the ${what} test: mount -t tmpfs is not permitted here (${m.stderr.trim()})`);
      ctx.skip();
    }
    mounts.push(mnt);
    return { dir, mnt };
  }

  it('disk full (a 2 MiB tmpfs): the run ends with a clear message, no stack, and show/logs -f say what happened', async (ctx) => {
    const { dir } = smallStore(ctx, '2m', 'disk-full');
    const r = await sluice(dir, ['run', FIXTURES, '--export', 'noisy', '--run-id', 'f1'], { SLUICE_TEST_LOG_MB: '8' });
    expect(r.code).toBe(1);
    expect(r.err + r.out).toMatch(/disk is full/);
    expect(r.err).not.toMatch(OUR_STACK);
    // whether the failure could still be recorded or not, nobody is left waiting on a `running` run
    const show = await sluice(dir, ['show', 'f1']);
    expect(show.code, show.err).toBe(0);
    expect(show.out).toMatch(/status {4}(failed|running — its driver \(pid \d+ on [^)]+\) is gone)/);
    if (/status {4}failed/.test(show.out)) expect(show.out).toMatch(/disk is full/);
    const logs = await sluice(dir, ['logs', 'f1', '-f'], {}, 30_000);
    expect(logs.signal).toBeNull();
  }, 180_000);

  it('the state database full (`database or disk is full`): a clear end, never a raw SqliteError', async (ctx) => {
    const { dir, mnt } = smallStore(ctx, '1m', 'database-full');
    // fill the disk to a few KiB so that the database's writes fail part-way
    const first = await sluice(dir, ['run', FIXTURES, '--export', 'naps', '--run-id', 'd0']);
    expect(first.code, first.err).toBe(0);
    spawnSync('sh', ['-c', `dd if=/dev/zero of=${join(mnt, 'filler')} bs=4k 2>/dev/null; true`]);
    const r = await sluice(dir, ['run', FIXTURES, '--export', 'naps', '--run-id', 'd1', '--no-cache']);
    expect(r.code === 1 || r.code === 2, r.err).toBe(true);
    expect(r.err + r.out).toMatch(/disk is full/);
    expect(r.err).not.toMatch(OUR_STACK);
    expect(r.err).not.toMatch(/SqliteError/);
  }, 180_000);

  it('another process holding the store locked mid-run: the run waits, then ends with a clear message (never a crash from the heartbeat)', async () => {
    const dir = tmp('sluice-locked-');
    const marks = join(dir, 'marks');
    const runner = spawn(process.execPath, [BIN, 'run', FIXTURES, '--export', 'gpu', '--run-id', 'l1'], { cwd: dir, env: { ...process.env, CI: '1', SLUICE_GPUS: '0', SLUICE_TEST_MARKS: marks, SLUICE_TEST_STEP_MS: '14000' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    runner.stdout.on('data', (d: Buffer) => (out += d));
    runner.stderr.on('data', (d: Buffer) => (err += d));
    expect(await until(() => existsSync(marks), 60_000)).toBe(true);
    // hold the write lock for 9 s: the heartbeat (every 5 s) meets SQLITE_BUSY
    const locker = new Database(join(dir, '.sluice', 'state.db'));
    locker.exec('BEGIN EXCLUSIVE');
    await new Promise((r) => setTimeout(r, 9000));
    locker.exec('ROLLBACK');
    locker.close();
    const code = await new Promise<number | null>((r) => runner.on('close', r));
    expect(err).not.toMatch(OUR_STACK);
    expect(err).not.toMatch(/SqliteError|uncaught/i);
    expect(code, out + err).toBe(0); // the lock was released in time for the step's commit
    void copyFileSync;
  }, 180_000);

  it('read-only verbs open a store with a hot journal (left by a process killed mid-transaction) without crashing', async () => {
    const dir = tmp('sluice-hot-');
    expect((await sluice(dir, ['run', FIXTURES, '--export', 'naps', '--run-id', 'h1'])).code).toBe(0);
    const file = join(dir, '.sluice', 'state.db');
    const db = new Database(file);
    db.pragma('journal_mode = DELETE'); // a rollback journal: what a store copied or opened by other tools may use
    db.close();
    // a writer killed in the middle of a large transaction leaves a hot journal that only a writer may roll back
    const killed = spawnSync(process.execPath, ['-e', `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(file)}); d.pragma('cache_size = 1'); d.exec('BEGIN'); for (let i = 0; i < 3000; i++) d.prepare("INSERT INTO meta (key, value) VALUES (?, randomblob(1000))").run('k' + i); process.kill(process.pid, 'SIGKILL');`], { cwd: join(import.meta.dirname, '..', '..') });
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(`${file}-journal`)).toBe(true);
    const r = await sluice(dir, ['show', 'h1']);
    expect(r.err).not.toMatch(OUR_STACK);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/status {4}succeeded/);
    const runs = await sluice(dir, ['runs']);
    expect(runs.code, runs.err).toBe(0);
    expect(runs.out).toMatch(/h1 +naps +succeeded/);
  }, 120_000);
});
