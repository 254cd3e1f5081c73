/**
 * Process groups of step attempts: identified by their leader's pid and its start time (field 22
 * of /proc/<pid>/stat, in clock ticks since boot), so a recycled pid is never mistaken for a step.
 */
import { readFileSync } from 'node:fs';

/** Start time of process `pid`, or null when it does not exist (or /proc is not there). */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces: count from its end
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 overall: the 20th after the name and state
  } catch {
    return null;
  }
}

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True while anything of the process group led by `pgid` (started at `start`) runs. A leader
 * alive with another start time is another process: the group it led is gone (a pid is not reused
 * while a group of that id exists).
 */
export function groupAlive(pgid: number, start: string | null): boolean {
  if (!(pgid > 1)) return false;
  const now = processStart(pgid);
  if (now !== null && start !== null && now !== start) return false;
  return exists(-pgid);
}

/** Signals the group when it is still the one recorded. */
export function signalGroup(pgid: number, start: string | null, sig: NodeJS.Signals): boolean {
  if (!groupAlive(pgid, start)) return false;
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops an orphaned group: SIGTERM, up to `graceMs` to end, then SIGKILL; resolves when it is gone (or after `giveUpMs`). */
export async function stopGroup(pgid: number, start: string | null, graceMs: number, giveUpMs = 10_000): Promise<boolean> {
  if (!signalGroup(pgid, start, 'SIGTERM')) return true;
  const until = Date.now() + graceMs;
  while (Date.now() < until && groupAlive(pgid, start)) await sleep(50);
  signalGroup(pgid, start, 'SIGKILL');
  const end = Date.now() + giveUpMs;
  while (Date.now() < end && groupAlive(pgid, start)) await sleep(50);
  return !groupAlive(pgid, start);
}
