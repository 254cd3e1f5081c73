import { eventFields, type EventFields, type RunEvent } from '../backend/events.ts';
import { formatMs } from '../util/duration.ts';

export type ViewMode = 'tty' | 'lines' | 'json';

const ICON: Record<string, string> = { running: '▶', retrying: '↻', succeeded: '✓', cached: '◆', failed: '✗', skipped: '–', omitted: '·', waiting: '…' };

interface Row { state: string; start: number; end?: number; attempt: number; cached: boolean; note?: string | undefined }

/** Renders run events: a live DAG view in a terminal, one line per event otherwise, or JSON lines. */
export class RunView {
  private readonly rows = new Map<string, Row>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly warnings: string[] = [];
  /** What the whole run waits for (a pipeline-level mutex or semaphore), until a task starts. */
  private waitingRun: string | undefined;
  constructor(private readonly mode: ViewMode, private readonly out: NodeJS.WriteStream = process.stdout, private readonly now: () => number = Date.now) {
    if (mode === 'tty') {
      this.timer = setInterval(() => this.draw(), 200);
      this.timer.unref();
    }
  }

  event = (ev: RunEvent): void => {
    if (this.mode === 'json') {
      this.out.write(JSON.stringify(ev) + '\n');
      return;
    }
    const e = eventFields(ev);
    if (e.key) {
      this.track(e);
      this.waitingRun = undefined; // the run has its locks once its tasks move
    }
    if (this.mode === 'lines') {
      const t = new Date(e.time).toISOString().slice(11, 23);
      const bits = [t, e.type.padEnd(16), e.key ?? e.runId];
      if (e.attempt) bits.push(`attempt ${e.attempt}`);
      if (e.gpus?.length) bits.push(`gpus ${e.gpus.join(',')}`);
      if (e.status) bits.push(e.status);
      if (e.delayMs) bits.push(`retry in ${formatMs(e.delayMs)}`);
      if (e.message) bits.push(`— ${e.message.split('\n')[0]}`);
      this.out.write(bits.join('  ') + '\n');
    } else if (e.type === 'warning' && e.message) this.warnings.push(e.message);
    else if (e.type === 'run.waiting' && e.message) this.waitingRun = e.message.split('\n')[0];
    else if (ev.type === 'run.finished') this.stop(ev);
  };

  private track(e: EventFields): void {
    const key = e.key as string;
    const r = this.rows.get(key) ?? { state: 'waiting', start: e.time, attempt: 0, cached: false };
    switch (e.type) {
      case 'task.waiting': r.state = 'waiting'; r.note = e.message?.split('\n')[0]; break;
      case 'task.started': if (r.state === 'waiting') r.note = undefined; r.state = 'running'; if (r.attempt === 0) r.start = e.time; r.attempt = e.attempt ?? 1; break;
      case 'task.retrying': r.state = 'retrying'; r.note = e.message?.split('\n')[0]; break;
      case 'task.succeeded': r.state = 'succeeded'; r.end = e.time; break;
      case 'task.resumed': r.state = e.status ?? 'succeeded'; r.end = e.time; r.note = 'done before resume'; break;
      case 'task.cached': r.state = 'cached'; r.cached = true; r.end = e.time; r.note = e.message; break;
      case 'task.failed': r.state = 'failed'; r.end = e.time; r.note = e.message?.split('\n')[0]; break;
      case 'task.skipped': r.state = 'skipped'; r.end = e.time; break;
      case 'task.omitted': r.state = 'omitted'; r.end = e.time; break;
      case 'condition.decided': r.state = 'succeeded'; r.end = e.time; r.note = `→ ${e.message}`; break;
      default: return;
    }
    this.rows.set(key, r);
  }

  private lines(): string[] {
    const rows = [...this.rows.entries()];
    const counts: Record<string, number> = {};
    for (const [, r] of rows) counts[r.state] = (counts[r.state] ?? 0) + 1;
    const isActive = (r: Row) => r.state === 'waiting' || r.state === 'running' || r.state === 'retrying' || r.state === 'failed';
    const active = rows.filter(([, r]) => isActive(r));
    const recent = rows.filter(([, r]) => !isActive(r)).slice(-Math.max(0, 20 - active.length));
    const width = Math.min(48, Math.max(8, ...rows.map(([k]) => k.length)));
    const fmt = ([k, r]: [string, Row]) => {
      const el = formatMs((r.end ?? this.now()) - r.start);
      return `${ICON[r.state] ?? '?'} ${k.padEnd(width).slice(0, width)}  ${r.state.padEnd(9)} ${el.padStart(7)}${r.attempt > 1 ? `  attempt ${r.attempt}` : ''}${r.cached ? '  cache hit' : ''}${r.note && r.state !== 'cached' ? `  ${r.note.slice(0, 80)}` : ''}`;
    };
    const summary = Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ');
    return [...(this.waitingRun ? [`… run  ${this.waitingRun.slice(0, 120)}`] : []), ...recent.map(fmt), ...active.map(fmt), `  ${rows.length} tasks: ${summary}`];
  }

  private draw(): void {
    const ls = this.lines();
    if (this.drawn) this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.out.write(ls.join('\n') + '\n');
    this.drawn = ls.length;
  }

  private stop(e: RunEvent): void {
    if (this.timer) clearInterval(this.timer);
    this.draw();
    for (const w of this.warnings) this.out.write(`warning: ${w}\n`);
    void e;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
