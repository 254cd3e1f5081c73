// The live view in a real terminal (tmux): clipped to the window, header first, loop iterations
// grouped when they do not fit, no colour with NO_COLOR, the Ctrl-C notice kept.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tmp } from '../helpers.ts';
import { BIN, FIXTURES, until } from './sluice.ts';

const SOCKET = `sluice-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux && process.env.CI) throw new Error('CI=true needs tmux for the live-view test (apt-get install tmux)');

afterAll(() => {
  if (hasTmux) tmux('kill-server');
});

describe.skipIf(!hasTmux)('live view in a 60x14 terminal (tmux)', () => {
  it('never draws wider or taller than the window, shows the header, groups iterations, keeps the Ctrl-C notice', async () => {
    const dir = tmp('sluice-tty-');
    const done = join(dir, 'done');
    const cmd = `cd ${dir} && env -u CI NO_COLOR=1 TERM=xterm ${process.execPath} ${BIN} run ${FIXTURES} --export wide --run-id w1 --grace 200; echo "exit $?" > ${done}; sleep 30`;
    expect(tmux('new-session', '-d', '-s', 'v', '-x', '60', '-y', '14', cmd).status).toBe(0);
    const frames: string[] = [];
    const capture = () => tmux('capture-pane', '-p', '-J', '-e', '-t', 'v').stdout;
    let interrupted = false;
    await until(() => {
      const f = capture();
      frames.push(f);
      if (!interrupted && /sweep\[\*\]/.test(f) && /\d+ succeeded/.test(f)) {
        interrupted = true;
        tmux('send-keys', '-t', 'v', 'C-c');
      }
      try {
        return readFileSync(done, 'utf8').length > 0;
      } catch {
        return false;
      }
    }, 120_000, 150);
    const last = capture();
    frames.push(last);
    const all = frames.join('\n');
    // -J joins wrapped lines: a line longer than 60 columns means the view wrapped
    const tooWide = all.split('\n').filter((l) => l.length > 60);
    expect(tooWide).toEqual([]);
    expect(all).not.toMatch(/\x1b\[3\dm/); // NO_COLOR
    expect(all).toMatch(/run w1 {2}pipeline wide {2}20 tasks planned/);
    expect(all).toMatch(/sweep\[\*\]\/a-task-with-a-name.* \d+ iterations: /);
    expect(interrupted).toBe(true);
    expect(last).toContain('SIGINT: stopping'); // the notice stays on screen
    expect(last).toMatch(/run w1 .*— interrupted/);
    expect(last).not.toMatch(/▶ .*running/); // nothing still shown running once interrupted
    expect(readFileSync(done, 'utf8')).toContain('exit 130');
    // every frame fits the window's height: the header is on screen in each capture while running
    for (const f of frames.filter((x) => /tasks planned/.test(x) && !/— (interrupted|succeeded)/.test(x))) expect(f.split('\n').filter((l) => /tasks planned/.test(l))).toHaveLength(1);
  }, 180_000);
});
