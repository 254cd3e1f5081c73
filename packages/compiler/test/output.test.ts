/**
 * `writeOutputFile` (what `-o` of `sluice compile` and `sluice triggers compile` writes through):
 * a regular file is replaced whole and keeps its mode, a link's target is written and the link
 * stays, a FIFO or a device is written to and stays what it is, and a failed write leaves nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeOutputFile } from '../src/output.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const leftovers = (d: string) => readdirSync(d).filter((n) => n.endsWith('.sluice-tmp'));

describe('writeOutputFile', () => {
  it('replaces a regular file whole and keeps its mode; makes a new one', () => {
    const f = join(dir, 'a.yaml');
    writeFileSync(f, 'old\n');
    chmodSync(f, 0o640);
    writeOutputFile(f, 'new: 1\n');
    expect(readFileSync(f, 'utf8')).toBe('new: 1\n');
    expect(statSync(f).mode & 0o777).toBe(0o640);
    const g = join(dir, 'fresh.yaml');
    writeOutputFile(g, 'x: 1\n');
    expect(readFileSync(g, 'utf8')).toBe('x: 1\n');
    expect(leftovers(dir)).toEqual([]);
  });

  it('writes through a chain of links, the links kept; a dangling link gets its target made', () => {
    const target = join(dir, 'v2.yaml');
    writeFileSync(target, 'v: 1\n');
    symlinkSync('v2.yaml', join(dir, 'current.yaml'));
    symlinkSync(join(dir, 'current.yaml'), join(dir, 'latest.yaml'));
    writeOutputFile(join(dir, 'latest.yaml'), 'v: 2\n');
    expect(lstatSync(join(dir, 'latest.yaml')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(dir, 'current.yaml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('v: 2\n');
    mkdirSync(join(dir, 'out'));
    symlinkSync(join(dir, 'out', 'later.yaml'), join(dir, 'dangling.yaml'));
    writeOutputFile(join(dir, 'dangling.yaml'), 'v: 3\n');
    expect(readlinkSync(join(dir, 'dangling.yaml'))).toBe(join(dir, 'out', 'later.yaml'));
    expect(readFileSync(join(dir, 'out', 'later.yaml'), 'utf8')).toBe('v: 3\n');
  });

  it('writes into a FIFO (a reader gets the text), which stays a FIFO', async () => {
    const fifo = join(dir, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    let got = '';
    reader.stdout.on('data', (d: Buffer) => (got += d));
    const closed = new Promise<number | null>((r) => reader.on('close', r));
    writeOutputFile(fifo, 'through: the pipe\n');
    const t = setTimeout(() => reader.kill(), 10_000);
    await closed;
    clearTimeout(t);
    expect(got).toBe('through: the pipe\n');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('writes into a character device, which stays one (a clone of /dev/null; root only)', (ctx) => {
    const dev = join(dir, 'null');
    const m = spawnSync('mknod', [dev, 'c', '1', '3'], { encoding: 'utf8' });
    if (m.status !== 0) {
      console.warn(`skipping the device case: mknod is not permitted here (${m.stderr.trim()})`);
      ctx.skip();
    }
    writeOutputFile(dev, 'gone: true\n');
    expect(lstatSync(dev).isCharacterDevice()).toBe(true);
    expect(leftovers(dir)).toEqual([]);
  });

  it('a write that fails throws and leaves neither the old file changed nor a temporary file', (ctx) => {
    if (process.getuid?.() === 0) {
      // root writes into a read-only folder: a full one instead (a 64 KiB tmpfs)
      const full = join(dir, 'full');
      mkdirSync(full);
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full], { encoding: 'utf8' });
      if (m.status !== 0) {
        console.warn(`skipping the failed-write case: mount -t tmpfs is not permitted here (${m.stderr.trim()})`);
        ctx.skip();
      }
      try {
        writeFileSync(join(full, 'keep.yaml'), 'old\n');
        expect(() => writeOutputFile(join(full, 'keep.yaml'), 'x'.repeat(256 * 1024))).toThrow(/ENOSPC/);
        expect(readFileSync(join(full, 'keep.yaml'), 'utf8')).toBe('old\n');
        expect(leftovers(full)).toEqual([]);
      } finally {
        spawnSync('umount', ['-l', full]);
      }
      return;
    }
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    writeFileSync(join(ro, 'keep.yaml'), 'old\n');
    chmodSync(ro, 0o500);
    try {
      expect(() => writeOutputFile(join(ro, 'keep.yaml'), 'new\n')).toThrow(/EACCES/);
      expect(readFileSync(join(ro, 'keep.yaml'), 'utf8')).toBe('old\n');
      expect(leftovers(ro)).toEqual([]);
    } finally {
      chmodSync(ro, 0o700);
    }
  });
});
