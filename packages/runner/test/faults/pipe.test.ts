// A reader that goes away must not kill the run, leave it `running`, or print our stack.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateStore } from '../../src/store/state.ts';
import { tmp } from '../helpers.ts';
import { BIN, FIXTURES, OUR_STACK } from './sluice.ts';

const sh = (cwd: string, cmd: string) => spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 120_000 });

describe('output pipe closed', () => {
  it('`sluice run --json | head -4` lets the run finish and record it; `sluice show | head -1` prints no EPIPE stack', () => {
    const dir = tmp('sluice-pipe-');
    const node = JSON.stringify(process.execPath);
    const r = sh(dir, `${node} ${BIN} run ${FIXTURES} --export naps --json --run-id p1 | head -4; echo "exit \${PIPESTATUS[0]}" >&2`);
    expect(r.stdout.trim().split('\n')).toHaveLength(4);
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    expect(r.stderr).toMatch(/exit 0/);
    const s = StateStore.open(join(dir, '.sluice', 'state.db'), { readonly: true });
    try {
      expect(s.getRun('p1')?.status).toBe('succeeded');
      expect(s.tasksOfRun('p1').map((t) => t.state)).toEqual(Array(6).fill('succeeded'));
    } finally {
      s.close();
    }
    for (const verb of [['show', 'p1'], ['runs'], ['logs', 'p1'], ['show', 'p1', '--json'], ['--help']]) {
      const x = sh(dir, `${node} ${BIN} ${verb.join(' ')} | head -1 > /dev/null; echo "exit \${PIPESTATUS[0]}" >&2`);
      expect(x.stderr, verb.join(' ')).not.toMatch(/EPIPE|Error/);
      expect(x.stderr).not.toMatch(OUR_STACK);
      expect(x.stderr).toMatch(/exit 0/);
    }
    void execFileSync;
  }, 180_000);
});
