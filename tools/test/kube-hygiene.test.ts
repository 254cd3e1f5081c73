// The API server fixture must leave nothing behind and listen on loopback only: a second,
// CRD-less control plane is started here and then stopped, or orphaned by SIGKILL.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { startCluster } from './support/kube/cluster.ts';
import { binDir, missingBinary, missingGo, repoRoot, skipReason } from './support/paths.ts';

const skip = skipReason(missingGo() ?? missingBinary('kube-apiserver') ?? missingBinary('etcd'));
if (skip) console.warn(`[oracles] skipping API server fixture hygiene tests: ${skip}`);
const suite = skip || process.platform !== 'linux' ? describe.skip : describe;

/** Pids whose process group is pgid (Linux /proc). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function hexToAddr(hex: string): string {
  if (hex.length === 8) return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  // IPv6: four little-endian 32-bit words
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => [3, 2, 1, 0].map((i) => w.slice(i * 2, i * 2 + 2)));
  const v6 = bytes.join('').match(/.{4}/g)!.join(':');
  return v6 === '0000:0000:0000:0000:0000:0000:0000:0001' ? '::1' : v6;
}

/** Local addresses of the listening TCP sockets held by the given processes. */
function listeningAddresses(pids: number[]): string[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      }
    } catch {
      // exited meanwhile
    }
  }
  const out: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9]!)) continue; // 0A = LISTEN
      const [addr, port] = f[1]!.split(':');
      out.push(`${hexToAddr(addr!)}:${parseInt(port!, 16)}`);
    }
  }
  return out.sort();
}

const alive = (pgid: number): boolean => groupMembers(pgid).length > 0;

suite('API server fixture hygiene', () => {
  test('listens on 127.0.0.1 only, and stop() ends both process groups and removes its data', async () => {
    const cluster = await startCluster({ binDir, namespace: 'hygiene' });
    let stopped = false;
    try {
      expect(cluster.pgids).toHaveLength(2);
      const pids = cluster.pgids.flatMap(groupMembers);
      const addrs = listeningAddresses(pids);
      expect(addrs.length, 'etcd and kube-apiserver listen somewhere').toBeGreaterThanOrEqual(3);
      expect(addrs.filter((a) => !a.startsWith('127.'))).toEqual([]);
      expect(addrs).toContain(new URL(cluster.conn.server).host);
      await cluster.stop();
      stopped = true;
      expect(cluster.pgids.filter(alive)).toEqual([]);
      expect(existsSync(cluster.tmpDir)).toBe(false);
    } finally {
      if (!stopped) await cluster.stop();
    }
  });

  test('a SIGKILLed owner leaves no server and no data behind (watchdog)', async () => {
    const owner = spawn(process.execPath, ['--import', 'tsx', 'tools/test/support/kube/up.ts'], {
      cwd: repoRoot,
      env: { ...process.env, SLUICE_KUBE_NO_CRDS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    owner.stdout.on('data', (c: Buffer) => (out += c.toString()));
    owner.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 90_000;
    while (!/^tmp: +\S+$/m.test(out)) {
      if (owner.exitCode !== null || Date.now() > deadline) {
        owner.kill('SIGKILL');
        throw new Error(`up.ts did not come up:\n${out}`);
      }
      await sleep(100);
    }
    const pgids = /^pgids: +(.+)$/m.exec(out)![1]!.trim().split(' ').map(Number);
    const tmp = /^tmp: +(\S+)$/m.exec(out)![1]!;
    expect(pgids.filter(alive)).toHaveLength(2);
    owner.kill('SIGKILL'); // no exit handler, no teardown: only the watchdogs remain
    const until = Date.now() + 15_000;
    while ((pgids.some(alive) || existsSync(tmp)) && Date.now() < until) await sleep(200);
    const survivors = pgids.filter(alive);
    for (const g of survivors) process.kill(-g, 'SIGKILL'); // do not leak even when failing
    expect(survivors).toEqual([]);
    expect(existsSync(tmp)).toBe(false);
  });
});
