// Data arrival from an S3 prefix, locally: the daemon lists the prefix of a real S3 server (s3rver on
// 127.0.0.1, in a child process, stopped after) page by page and fires for each new or overwritten object.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '@sluice/runner';
import { StateStore } from '../../runner/src/store/state.ts';
import { dataArrival, trigger } from '../src/define.ts';
import { Daemon } from '../src/local/daemon.ts';
import { diffListing, listPrefix } from '../src/local/s3.ts';
import { replayTrigger } from '../src/cli.ts';
import { train } from './helpers.ts';
import { startS3 } from './support/s3.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sluice-triggers-s3-'));
const ACCESS = 'S3RVER';
const SECRET = 'S3RVER'; // s3rver's fixed keys; the test checks that the variable holding it is read, not that the value is secret
let server: Awaited<ReturnType<typeof startS3>>;
let endpoint = '';
let client: Client;
const deps = { runPipeline, ensureStore: (db: string) => StateStore.open(db).close() };

beforeAll(async () => {
  server = await startS3(join(tmp, 's3'), ['raw']);
  endpoint = server.endpoint;
  client = new Client({ endPoint: '127.0.0.1', port: server.port, useSSL: false, accessKey: ACCESS, secretKey: SECRET, pathStyle: true });
});
afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const put = (key: string, body: string) => client.putObject('raw', key, Buffer.from(body));

describe('S3 prefix source (local daemon)', () => {
  it('lists every page of a prefix (continuation tokens), ETags unquoted, other prefixes left out', async () => {
    for (const k of ['list/a.csv', 'list/b.csv', 'list/c.csv', 'list/d.csv', 'list/e.csv', 'other/x.csv']) await put(k, `${k}\n`);
    const all = await listPrefix(client, 'raw', 'list/', 2);
    expect(all.map((o) => o.key)).toEqual(['list/a.csv', 'list/b.csv', 'list/c.csv', 'list/d.csv', 'list/e.csv']);
    expect(all.map((o) => o.etag)).toEqual(all.map((o) => md5(`${o.key}\n`)));
    expect(all[0]!.size).toBe('list/a.csv\n'.length);
    expect(diffListing(new Map([['list/a.csv', md5('list/a.csv\n')], ['list/b.csv', 'old'], ['list/gone.csv', 'x']]), all)).toEqual({
      arrived: all.slice(1), deleted: ['list/gone.csv'],
    });
  });

  it('baseline first, then one fire per new or overwritten object with its key, size and ETag; a deletion fires nothing', async () => {
    await put('daily/2026-01-01.csv', 'x\n1\n');
    await put('daily/2026-01-02.csv', 'x\n2\n');
    const storeDir = join(tmp, 'daemon', '.sluice');
    const env = { ...process.env };
    process.env.TEST_S3_ACCESS = ACCESS;
    process.env.TEST_S3_SECRET = SECRET;
    const t = trigger({
      name: 'landed', target: train, params: (e) => ({ source: e.uri, epochs: e.size }),
      source: dataArrival.s3({ bucket: 'raw', prefix: 'daily/', endpoint, poll: '10s', credentials: { accessKeyEnv: 'TEST_S3_ACCESS', secretKeyEnv: 'TEST_S3_SECRET' } }),
      policy: { concurrency: 'allow' },
    });
    // the IR names the variables, never their values
    expect(JSON.stringify(t.ir)).not.toContain(`"${SECRET}"`);
    expect((t.ir.source as { location: unknown }).location).toMatchObject({ credentials: { accessKeyEnv: 'TEST_S3_ACCESS', secretKeyEnv: 'TEST_S3_SECRET', secret: 'sluice-s3' }, pollMs: 10_000 });
    let clock = Date.parse('2026-01-03T00:00:00Z');
    const lines: string[] = [];
    const d = new Daemon([t], deps, { storeDir, now: () => clock, log: (l) => lines.push(l), s3PageSize: 1 });
    try {
      await d.start();
      await d.tick(); // baseline: the two objects already there do not fire
      expect(d.running).toBe(0);
      await put('daily/2026-01-03.csv', 'x\n3\n33\n');
      await put('daily/2026-01-02.csv', 'x\n2\n22\n'); // overwritten: a new ETag
      await client.removeObject('raw', 'daily/2026-01-01.csv');
      clock += 5_000;
      await d.tick(); // not due yet (poll 10s)
      expect(d.store.fires('landed')).toHaveLength(0);
      clock += 5_000;
      await d.tick();
      await d.drain();
      clock += 10_000;
      await d.tick(); // nothing new
      await d.drain();
      const decided = d.store.decisions('landed').map((x) => ({ kind: x.kind, reason: x.reason, event: x.event ? JSON.parse(x.event) : null }));
      expect(decided.map((x) => `${x.kind}: ${x.reason}`)).toEqual([
        'skip: baseline: 2 objects already under s3://raw/daily/; objects created or changed from now on fire',
        'fire: fire', 'fire: fire (concurrency allow; 1 already running)',
      ]);
      expect(decided.slice(1).map((x) => x.event)).toEqual([
        { uri: 's3://raw/daily/2026-01-02.csv', key: 'daily/2026-01-02.csv', size: 7, etag: md5('x\n2\n22\n'), time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
        { uri: 's3://raw/daily/2026-01-03.csv', key: 'daily/2026-01-03.csv', size: 7, etag: md5('x\n3\n33\n'), time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      ]);
      expect(d.store.fires('landed').map((f) => [f.status, f.run_status, JSON.parse(f.params)])).toEqual([
        ['finished', 'succeeded', { epochs: 7, source: 's3://raw/daily/2026-01-02.csv' }],
        ['finished', 'succeeded', { epochs: 7, source: 's3://raw/daily/2026-01-03.csv' }],
      ]);
      // replay from the listing: the objects as they are now, each at its LastModified, through the same engine
      const listing = await listPrefix(client, 'raw', 'daily/');
      const replayed = replayTrigger(t, undefined, Date.parse('2020-01-01T00:00:00Z'), Date.now(), tmp, { s3Objects: listing });
      expect(replayed.decisions.map((x) => [x.kind, x.event?.key, x.runId])).toEqual([
        ['fire', 'daily/2026-01-02.csv', d.store.fires('landed')[0]!.run_id],
        ['fire', 'daily/2026-01-03.csv', d.store.fires('landed')[1]!.run_id],
      ]);
      // the deleted key left the cursor; the overwritten one carries its new ETag
      expect([...d.store.seen('landed')].sort()).toEqual([['daily/2026-01-02.csv', md5('x\n2\n22\n')], ['daily/2026-01-03.csv', md5('x\n3\n33\n')]]);
    } finally {
      await d.close();
      process.env = env;
    }
  });

  it('credentials come from the named variables: unset, the listing is refused with their names; set, their values are not stored or logged', async () => {
    const storeDir = join(tmp, 'nocreds', '.sluice');
    const t = trigger({
      name: 'nocreds', target: train, params: (e) => ({ source: e.uri }),
      source: dataArrival.s3({ bucket: 'raw', prefix: 'daily/', endpoint, credentials: { accessKeyEnv: 'TEST_S3_UNSET_A', secretKeyEnv: 'TEST_S3_UNSET_B' } }),
    });
    const lines: string[] = [];
    const d = new Daemon([t], deps, { storeDir, log: (l) => lines.push(l) });
    try {
      await d.start();
      await d.tick();
      expect(lines, lines.join('\n')).toContain('nocreds: listing s3://raw/daily/ failed: set TEST_S3_UNSET_A and TEST_S3_UNSET_B in the environment (the S3 keys are read from there)');
      expect(d.store.decisions('nocreds')).toEqual([]);
    } finally {
      await d.close();
    }
    // set, the values are read from the environment and end up in neither the log nor the store
    // (s3rver does not check the secret, so any value lists)
    process.env.TEST_S3_WRONG_A = ACCESS;
    process.env.TEST_S3_WRONG_B = 'not-the-secret-7f3a';
    const w = trigger({
      name: 'wrongkey', target: train, params: (e) => ({ source: e.uri }),
      source: dataArrival.s3({ bucket: 'raw', prefix: 'daily/', endpoint, credentials: { accessKeyEnv: 'TEST_S3_WRONG_A', secretKeyEnv: 'TEST_S3_WRONG_B' } }),
    });
    const wl: string[] = [];
    const d2 = new Daemon([w], deps, { storeDir: join(tmp, 'wrong', '.sluice'), log: (l) => wl.push(l) });
    try {
      await d2.start();
      await d2.tick();
    } finally {
      await d2.close();
      delete process.env.TEST_S3_WRONG_A;
      delete process.env.TEST_S3_WRONG_B;
    }
    expect(wl.some((l) => / wrongkey baseline of s3:\/\/raw\/daily\/: \d+ objects$/.test(l)), wl.join('\n')).toBe(true);
    expect(wl.join('\n')).not.toContain('not-the-secret-7f3a');
    expect(readFileSync(join(tmp, 'wrong', '.sluice', 'state.db')).includes('not-the-secret-7f3a')).toBe(false);
  });
});
