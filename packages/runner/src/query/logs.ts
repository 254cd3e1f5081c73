/**
 * Step logs as data. A task's log is one file per task (`runs/<run>/logs/<key>.log`, `/` as `~`)
 * that every attempt appends to; the engine writes an attempt marker line before each attempt,
 * so readers can tell attempts apart and say when each started.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LogEntry } from '../backend/views.ts';

const MARK = '\u0000sluice:attempt ';
const MARK_RE = /^\u0000sluice:attempt (\d+) (\d+)\u0000$/;

/** The marker line the engine writes before attempt `n` (started at `time`, epoch ms). */
export function attemptMarker(n: number, time: number): string {
  return `${MARK}${n} ${time}\u0000\n`;
}

/** Appends the attempt marker to a task's log (creating its directory). */
export function markAttempt(logFile: string, n: number, time: number): void {
  mkdirSync(dirname(logFile), { recursive: true });
  appendFileSync(logFile, attemptMarker(n, time));
}

/** A log file's name for a task key, and back. */
export const logFileName = (key: string): string => `${key.replace(/\//g, '~')}.log`;
export const keyOfLogFile = (file: string): string => basename(file, '.log').replace(/~/g, '/');

/** Splits log text into attempt markers and text. */
export function parseLog(task: string, text: string): LogEntry[] {
  const out: LogEntry[] = [];
  let buf = '';
  const flush = () => {
    if (buf) out.push({ kind: 'text', task, text: buf });
    buf = '';
  };
  let i = 0;
  while (i < text.length) {
    const j = text.indexOf('\n', i);
    const line = j < 0 ? text.slice(i) : text.slice(i, j);
    const m = line.startsWith(MARK) ? MARK_RE.exec(line) : null;
    if (m) {
      flush();
      out.push({ kind: 'attempt', task, attempt: Number(m[1]), time: Number(m[2]) });
    } else buf += j < 0 ? line : `${line}\n`;
    i = j < 0 ? text.length : j + 1;
  }
  flush();
  return out;
}

/**
 * Reads what is new in the logs of a run since `offsets` (updated in place): whole lines only
 * unless `final` (the run is over), so a marker or a line being written is never cut.
 */
export function readNewLogs(logDir: string, tasks: readonly string[] | undefined, offsets: Map<string, number>, final: boolean): LogEntry[] {
  if (!existsSync(logDir)) return [];
  const files = tasks ? tasks.map(logFileName) : readdirSync(logDir).filter((f) => f.endsWith('.log')).sort();
  const out: LogEntry[] = [];
  for (const f of files) {
    const p = join(logDir, f);
    if (!existsSync(p)) continue;
    const size = statSync(p).size;
    const from = offsets.get(f) ?? 0;
    if (size <= from) continue;
    const buf = readFileSync(p).subarray(from, size);
    const end = final ? buf.length : buf.lastIndexOf(0x0a) + 1;
    if (end <= 0) continue;
    offsets.set(f, from + end);
    out.push(...parseLog(keyOfLogFile(f), buf.subarray(0, end).toString('utf8')));
  }
  return out;
}
