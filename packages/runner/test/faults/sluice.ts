// Runs the real `sluice` binary for the fault suite.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'sluice.mjs');
export const FIXTURES = join(import.meta.dirname, 'fixtures.ts');

export interface Result { code: number | null; signal: NodeJS.Signals | null; out: string; err: string }

/** `sluice ...args` in `cwd`; resolves when it exits. */
export function sluice(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 90_000): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, out, err });
    });
  });
}

/** A process that exists and is not a zombie (an orphan's zombie waits for a reaper that may never come in a container). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function until(cond: () => boolean, ms: number, step = 100): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return cond();
}

/** Our stack frames (`at ... packages/runner/src/...`) in a message: a user must never see them. */
export const OUR_STACK = /\n\s+at .*(packages\/(runner|executor|sdk|compiler)\/src|node:internal)/;
