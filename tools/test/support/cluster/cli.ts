// The real `sluice` binary (packages/runner/bin/sluice.mjs), run as a user runs it from the
// repository root, for the suites that drive the cluster verbs end to end.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../paths.ts';

const run = promisify(execFile);
export const sluiceBin = path.join(repoRoot, 'packages/runner/bin/sluice.mjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `sluice <args>` in a fresh process; never throws for a non-zero exit. */
export async function sluice(args: string[], o: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  try {
    const r = await run(process.execPath, [sluiceBin, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', ...o.env }, timeout: o.timeoutMs ?? 300_000, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

/** What a CLI run said, for an assertion message. */
export const said = (r: CliResult): string => `exit ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;

/** The workflow name from `submit --json` (its first line). */
export const submitted = (stdout: string): string => (JSON.parse(stdout.split('\n')[0]!) as { workflow: string }).workflow;
