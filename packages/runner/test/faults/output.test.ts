// Output that cannot be written, and `-o` at what is not a plain file, through the real binary:
// standard output on a full device ends the command with one line and exit 1 (a run still finishes
// and is recorded), `-o` writes through a link and into a FIFO without replacing them, and an `-o`
// that fails says so in one line, exit 1, the old file kept and no temporary file left.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/store/state.ts';
import { tmp } from '../helpers.ts';
import { BIN, FIXTURES, OUR_STACK, sluice } from './sluice.ts';

const EXAMPLE = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'tabular-training', 'pipeline.ts');
const dirs: string[] = [];
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(prefix: string): string {
  const d = tmp(prefix);
  dirs.push(d);
  return d;
}
const env = { ...process.env, CI: '1' };

describe('standard output that cannot be written', () => {
  it('`> /dev/full`: one line on standard error and exit 1, never our stack; a run still finishes and is recorded', (ctx) => {
    if (!existsSync('/dev/full') || !statSync('/dev/full').isCharacterDevice()) {
      console.warn('skipping: this machine has no /dev/full');
      ctx.skip();
    }
    const d = dir('sluice-full-stdout-');
    const full = openSync('/dev/full', 'w');
    try {
      const on = (args: readonly string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: d, env, stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 120_000 });
      const run = on(['run', FIXTURES, '--export', 'naps', '--json', '--run-id', 'o1']);
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/^sluice: standard output could not be written \(ENOSPC: no space left on device/m);
      expect(run.stderr).not.toMatch(OUR_STACK);
      const s = StateStore.open(join(d, '.sluice', 'state.db'), { readonly: true });
      try {
        expect(s.getRun('o1')?.status).toBe('succeeded');
      } finally {
        s.close();
      }
      for (const args of [['--help'], ['runs'], ['show', 'o1'], ['compile', EXAMPLE]]) {
        const r = on(args);
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(1);
        expect(r.stderr.trim().split('\n'), args.join(' ')).toEqual([expect.stringMatching(/^sluice: standard output could not be written \(ENOSPC/)]);
      }
    } finally {
      closeSync(full);
    }
    expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
  }, 240_000);
});

describe('sluice compile -o', () => {
  it('through a link writes its target and keeps the link; into a FIFO writes the manifest and keeps the FIFO', async () => {
    const d = dir('sluice-out-kinds-');
    const plain = await sluice(d, ['compile', EXAMPLE]);
    expect(plain.code, plain.err).toBe(0);
    writeFileSync(join(d, 'v2.yaml'), 'old\n');
    symlinkSync('v2.yaml', join(d, 'current.yaml'));
    const viaLink = await sluice(d, ['compile', EXAMPLE, '-o', 'current.yaml']);
    expect(viaLink.code, viaLink.err).toBe(0);
    expect(lstatSync(join(d, 'current.yaml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(d, 'v2.yaml'), 'utf8')).toBe(plain.out);

    const fifo = join(d, 'manifest.pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    let got = '';
    reader.stdout.on('data', (b: Buffer) => (got += b));
    const closed = new Promise((r) => reader.on('close', r));
    const intoFifo = await sluice(d, ['compile', EXAMPLE, '-o', fifo]);
    // (a FIFO replaced by a file would leave the reader waiting: it is stopped, and the check fails)
    const t = setTimeout(() => reader.kill(), 15_000);
    await closed;
    clearTimeout(t);
    expect(intoFifo.code, intoFifo.err).toBe(0);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(got).toBe(plain.out);
    expect(readdirSync(d).filter((n) => n.endsWith('.sluice-tmp'))).toEqual([]);
  }, 240_000);

  it('that cannot be written (a full disk: a 64 KiB tmpfs, root only): one line, exit 1, the old file kept, nothing left', async (ctx) => {
    const d = dir('sluice-out-full-');
    const full = join(d, 'full');
    mkdirSync(full);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full], { encoding: 'utf8' });
    if (m.status !== 0) {
      console.warn(`skipping: mount -t tmpfs is not permitted here (${m.stderr.trim()})`);
      ctx.skip();
    }
    mounts.push(full);
    writeFileSync(join(full, 'wf.yaml'), 'old\n');
    // room for the old file and less than the manifest
    spawnSync('sh', ['-c', `dd if=/dev/zero of=${join(full, 'filler')} bs=4k count=12 2>/dev/null; true`]);
    const r = await sluice(d, ['compile', EXAMPLE, '-o', join(full, 'wf.yaml')]);
    expect(r.code, r.err).toBe(1);
    expect(r.err.trim().split('\n')).toEqual([`sluice: cannot write ${join(full, 'wf.yaml')}: ENOSPC: no space left on device, write`]);
    expect(readFileSync(join(full, 'wf.yaml'), 'utf8')).toBe('old\n');
    expect(readdirSync(full).sort()).toEqual(['filler', 'wf.yaml']);
  }, 240_000);
});
