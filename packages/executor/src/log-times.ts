/**
 * Per-line times of a step's log. Beside `<key>.log` the executor keeps `<key>.log.times`: one
 * line `<byte offset> <epoch ms>` for every line of the log whose start it saw written, in order.
 * The log itself is unchanged (readers that know nothing of times read it as before); a line
 * with no entry (written by a child process of the step straight to the file, or by a runner
 * from before times were kept) has no known time.
 *
 * Who stamps: a step in a process of its own stamps what it writes to its stdout and stderr
 * (`SLUICE_LOG_TIMES` names the times file); the runner stamps what it copies from a warm
 * worker's pipes (the time it read the line, normally within milliseconds of its writing);
 * `ctx.log` in-process stamps its own lines. Times are epoch milliseconds (UTC).
 */
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';

/** The times file of a log file. */
export const timesFileOf = (logFile: string): string => `${logFile}.times`;

/** Stamps the line starts of what is appended to one log. */
export class LineClock {
  private lastEnd = -1;
  private lastEndedLine = true;
  constructor(readonly logFile: string, readonly timesFile: string = timesFileOf(logFile)) {}

  /** Whether the byte before `offset` ends a line (or the log starts there). */
  private atLineStart(offset: number): boolean {
    if (offset <= 0) return true;
    if (offset === this.lastEnd) return this.lastEndedLine;
    try {
      const fd = openSync(this.logFile, 'r');
      try {
        const b = Buffer.alloc(1);
        return readSync(fd, b, 0, 1, offset - 1) === 1 && b[0] === 0x0a;
      } finally {
        closeSync(fd);
      }
    } catch {
      return true;
    }
  }

  /** `chunk` is being appended at byte `offset` of the log, at `time` (epoch ms). Never throws. */
  note(offset: number, chunk: Uint8Array | string, time = Date.now()): void {
    try {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (!b.length) return;
      let out = '';
      if (this.atLineStart(offset)) out += `${offset} ${time}\n`;
      for (let i = b.indexOf(0x0a); i >= 0 && i < b.length - 1; i = b.indexOf(0x0a, i + 1)) out += `${offset + i + 1} ${time}\n`;
      this.lastEnd = offset + b.length;
      this.lastEndedLine = b[b.length - 1] === 0x0a;
      if (out) appendFileSync(this.timesFile, out, { mode: 0o600 });
    } catch { /* a log without times is still a log */ }
  }
}

/**
 * Stamps what this process writes to its stdout and stderr, when both go to the log file (a
 * step in a process of its own). The offset of each write is the file's size just before it.
 */
export function stampStdio(timesFile: string, logFile?: string): void {
  const clock = new LineClock(logFile ?? timesFile.replace(/\.times$/, ''), timesFile);
  for (const [stream, fd] of [[process.stdout, 1], [process.stderr, 2]] as const) {
    let isFile = false;
    try { isFile = fstatSync(fd).isFile(); } catch { /* not open */ }
    if (!isFile) continue;
    const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
    stream.write = ((chunk: Uint8Array | string, ...rest: unknown[]) => {
      try {
        const enc = typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : undefined;
        clock.note(fstatSync(fd).size, typeof chunk === 'string' ? Buffer.from(chunk, enc) : chunk);
      } catch { /* unstamped */ }
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

/** One line of a log with its start offset and, when it was stamped, its time (epoch ms). */
export interface TimedLine { readonly offset: number; readonly time: number | undefined; readonly text: string }

/**
 * A log's lines (each with its `\n`, the last one perhaps without) with their times.
 *
 * @example
 * for (const l of timedLines('.sluice/runs/r1/logs/train.log')) console.log(l.time, l.text);
 */
export function timedLines(logFile: string): TimedLine[] {
  const bytes = readFileSync(logFile);
  const times = new Map<number, number>();
  const tf = timesFileOf(logFile);
  if (existsSync(tf)) {
    for (const l of readFileSync(tf, 'utf8').split('\n')) {
      const [o, t] = l.split(' ');
      if (o && t) times.set(Number(o), Number(t));
    }
  }
  const out: TimedLine[] = [];
  for (let start = 0; start < bytes.length;) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl < 0 ? bytes.length : nl + 1;
    out.push({ offset: start, time: times.get(start), text: bytes.subarray(start, end).toString('utf8') });
    start = end;
  }
  return out;
}
