import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '../../runner/bin/sluice.mjs');
const dir = mkdtempSync(join(tmpdir(), 'sluice-ui-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sluice ui', () => {
  it('serves on 127.0.0.1, prints the URL, stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'ui', '--port', '0', '--store', join(dir, '.sluice')], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const url = await new Promise<string>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`no URL printed: ${out}`)), 60_000);
        child.stdout.on('data', (d) => {
          out += String(d);
          const m = /sluice ui: (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(out);
          if (m) {
            clearTimeout(t);
            res(m[1] as string);
          }
        });
        child.on('exit', (c) => rej(new Error(`exited ${c}: ${out}`)));
      });
      const r = await fetch(new URL('/api/runs', url));
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ runs: [] });
      const code = new Promise<number | null>((res) => child.on('exit', res));
      child.kill('SIGTERM');
      expect(await code).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('rejects a bad port with one line and exit 2', () => {
    const r = spawnSync(process.execPath, [BIN, 'ui', '--port', 'eighty', '--store', join(dir, '.sluice')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('sluice ui: --port expects a port number (0 for any free port), got "eighty"');
  });
});
