import { createLogUpdate } from 'log-update';
import { eventFields, type EventFields, type RunEvent } from '../backend/events.ts';
import { formatMs } from '../util/duration.ts';

export type ViewMode = 'tty' | 'lines' | 'json';

/** How a run is shown: JSON events with `--json`, a live frame on a terminal, else one line per event. */
export function viewMode(o: { json?: boolean }): ViewMode {
  return o.json ? 'json' : process.stdout.isTTY && !process.env.CI && process.env.TERM !== 'dumb' ? 'tty' : 'lines';
}

const ICON: Record<string, string> = { running: '▶', retrying: '↻', succeeded: '✓', cached: '◆', failed: '✗', skipped: '–', omitted: '·', waiting: '…', interrupted: '■' };
const COLOR: Record<string, string> = { running: '36', retrying: '33', succeeded: '32', cached: '34', failed: '31', waiting: '90', interrupted: '33' };

interface Row { state: string; start: number; end?: number; attempt: number; cached: boolean; note?: string | undefined }

/** What the view knows before any task moves: from the `run.started` event. */
interface Header { runId: string; pipeline?: string; planned?: number; plannedExact?: boolean }

/** Where the live view draws: a terminal (its size) or a stand-in in tests. */
type Out = Pick<NodeJS.WriteStream, 'write'> & { columns?: number; rows?: number; isTTY?: boolean };

/**
 * Renders run events: a live view in a terminal (redrawn in place with log-update, clipped to the
 * terminal's width and height, loop iterations grouped when they do not fit, colour unless
 * `NO_COLOR`), one line per event otherwise (`TERM=dumb`, pipes, CI), or JSON lines.
 * Warnings and notices are printed above the live frame as they come, and stay.
 */
export class RunView {
  private readonly rows = new Map<string, Row>();
  private timer: NodeJS.Timeout | undefined;
  /** What the whole run waits for (a pipeline-level mutex or semaphore), until a task starts. */
  private waitingRun: string | undefined;
  private header: Header | undefined;
  private status: string | undefined;
  private readonly update: ReturnType<typeof createLogUpdate> | undefined;
  private readonly color: boolean;
  private stopped = false;

  constructor(private readonly mode: ViewMode, private readonly out: Out = process.stdout, private readonly now: () => number = Date.now, env: NodeJS.ProcessEnv = process.env) {
    this.color = mode === 'tty' && !!(out as { isTTY?: boolean }).isTTY && !('NO_COLOR' in env) && env.TERM !== 'dumb';
    if (mode === 'tty') {
      // a stand-in without a size (tests, a pipe forced to tty) is not wrapped or cut
      const target = { write: (t: string) => out.write(t), get columns() { return out.columns ?? 100_000; }, get rows() { return out.rows ?? 100_000; } };
      this.update = createLogUpdate(target as unknown as NodeJS.WriteStream, { showCursor: true });
      this.timer = setInterval(() => this.draw(), 200);
      this.timer.unref();
    }
  }

  event = (ev: RunEvent): void => {
    if (this.mode === 'json') {
      this.out.write(JSON.stringify(ev) + '\n');
      return;
    }
    if (ev.type === 'run.started' || ev.type === 'run.resumed') {
      this.header = { runId: ev.runId, ...(ev.pipeline ? { pipeline: ev.pipeline } : {}), ...(ev.planned !== undefined ? { planned: ev.planned, plannedExact: !!ev.plannedExact } : {}) };
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
      return;
    }
    if (e.type === 'warning' && e.message) this.notice(`warning: ${e.key ? `${e.key}: ` : ''}${e.message.split('\n')[0]}`);
    else if (e.type === 'run.waiting' && e.message) this.waitingRun = e.message.split('\n')[0];
    else if (ev.type === 'run.finished') this.stop(ev);
    if (e.type === 'run.started' || e.type === 'run.resumed') this.draw(); // the first frame at once
  };

  /** A line that stays, printed above the live frame (warnings, the Ctrl-C notice). */
  notice(text: string): void {
    if (this.mode !== 'tty' || !this.update) {
      this.out.write(`${text}\n`);
      return;
    }
    this.update.clear();
    this.out.write(`${this.clip(text.trimEnd())}\n`);
    if (!this.stopped) this.draw();
  }

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

  private clip(line: string): string {
    const w = this.out.columns;
    if (!w || line.length < w) return line;
    return `${line.slice(0, Math.max(1, w - 2))}…`;
  }

  private paint(state: string, text: string): string {
    const c = COLOR[state];
    return this.color && c ? `\x1b[${c}m${text}\x1b[39m` : text;
  }

  /** The frame's lines (plain text; colour is added when drawn). */
  lines(): { text: string; state?: string }[] {
    const rows = [...this.rows.entries()];
    const counts: Record<string, number> = {};
    for (const [, r] of rows) counts[r.state] = (counts[r.state] ?? 0) + 1;
    const isActive = (r: Row) => r.state === 'waiting' || r.state === 'running' || r.state === 'retrying' || r.state === 'failed' || r.state === 'interrupted';
    // the key column leaves room for state, time and a note in a narrow terminal
    const width = Math.min(48, Math.max(8, (this.out.columns ?? 120) - 32), Math.max(8, ...rows.map(([k]) => k.length)));
    const fmt = ([k, r]: [string, Row]) => ({
      state: r.state,
      text: `${ICON[r.state] ?? '?'} ${k.padEnd(width).slice(0, width)}  ${r.state.padEnd(9)} ${formatMs((r.end ?? this.now()) - r.start).padStart(7)}${r.attempt > 1 ? `  attempt ${r.attempt}` : ''}${r.cached ? '  cache hit' : ''}${r.note && r.state !== 'cached' ? `  ${r.note.slice(0, 80)}` : ''}`,
    });
    const h = this.header;
    const total = h?.planned !== undefined ? `${Math.max(h.planned, rows.length)}${h.plannedExact ? '' : '+'}` : String(rows.length);
    const head = h ? [{ text: `run ${h.runId}${h.pipeline ? `  pipeline ${h.pipeline}` : ''}  ${total} tasks planned${this.status ? `  — ${this.status}` : ''}` }] : [];
    const summary = { text: `  ${rows.length}/${total} tasks: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ') || 'starting'}` };
    const waiting = this.waitingRun ? [{ text: `… run  ${this.waitingRun.slice(0, 120)}`, state: 'waiting' }] : [];
    const room = Math.max(3, (this.out.rows ?? 100_000) - 1 - head.length - waiting.length - 1);
    let body = [...rows.filter(([, r]) => !isActive(r)), ...rows.filter(([, r]) => isActive(r))];
    if (body.length > room) {
      // group loop iterations (`sweep[3]/train` → `sweep[*]/train`), then keep the active and the latest
      const groups = new Map<string, [string, Row][]>();
      for (const e of body) {
        const g = e[0].replace(/\[\d+\]/g, '[*]');
        groups.set(g, [...(groups.get(g) ?? []), e]);
      }
      const grouped: { text: string; state?: string; active: boolean }[] = [];
      for (const [g, members] of groups) {
        if (members.length === 1) {
          grouped.push({ ...fmt(members[0] as [string, Row]), active: isActive((members[0] as [string, Row])[1]) });
          continue;
        }
        const by: Record<string, number> = {};
        for (const [, r] of members) by[r.state] = (by[r.state] ?? 0) + 1;
        const lead = ['failed', 'running', 'retrying', 'waiting', 'succeeded', 'cached'].find((s) => by[s]) ?? (members[0] as [string, Row])[1].state;
        grouped.push({ state: lead, active: members.some(([, r]) => isActive(r)), text: `${ICON[lead] ?? '?'} ${g.padEnd(width).slice(0, width)}  ${members.length} iterations: ${Object.entries(by).map(([s, n]) => `${n} ${s}`).join(', ')}` });
      }
      const done = grouped.filter((x) => !x.active);
      const active = grouped.filter((x) => x.active);
      const keepDone = Math.max(0, room - active.length);
      const shown = [...done.slice(done.length - keepDone), ...active].slice(-room);
      const hidden = grouped.length - shown.length;
      return [...head, ...waiting, ...(hidden > 0 ? [{ text: `  … ${hidden} more` }] : []), ...shown.slice(hidden > 0 ? 1 : 0), summary];
    }
    body = body.slice(-room);
    return [...head, ...waiting, ...body.map(fmt), summary];
  }

  private draw(): void {
    if (!this.update) return;
    this.update(this.lines().map((l) => this.paint(l.state ?? '', this.clip(l.text))).join('\n'));
  }

  private stop(e: EventFields): void {
    if (this.timer) clearInterval(this.timer);
    // a task still running when the run was stopped did not finish: it is not shown running
    if (e.status === 'interrupted') {
      for (const r of this.rows.values()) if (r.state === 'running' || r.state === 'retrying' || r.state === 'waiting') {
        r.state = 'interrupted';
        r.end = e.time;
      }
    }
    this.status = e.status;
    this.draw();
    this.stopped = true;
    this.update?.done();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    if (!this.stopped) {
      this.stopped = true;
      this.update?.done();
    }
  }
}
