/**
 * Live runs: one poller per watched run reads the store (through the query layer) at most every
 * `pollMs`, and fans the changes out to every client of that run. A run nobody watches is not read.
 */
import type { UiData } from './data.ts';

export type WatchEvent =
  | { readonly type: 'task'; readonly key: string; readonly state: string; readonly attempts: number }
  | { readonly type: 'run'; readonly status: string; readonly progress: string; readonly counts: object };

interface Watch {
  readonly listeners: Set<(e: WatchEvent) => void>;
  readonly states: Map<string, string>;
  status: string | null;
  timer: NodeJS.Timeout | null;
  busy: boolean;
}

export class RunWatchers {
  private readonly watches = new Map<string, Watch>();
  /** How many times the store was read, for tests (one poller per run, not per client). */
  reads = 0;
  constructor(private readonly data: UiData, private readonly pollMs: number) {}

  subscribe(runId: string, listener: (e: WatchEvent) => void): () => void {
    let w = this.watches.get(runId);
    if (!w) {
      w = { listeners: new Set(), states: new Map(), status: null, timer: null, busy: false };
      this.watches.set(runId, w);
      const watch = w;
      watch.timer = setInterval(() => void this.poll(runId, watch), this.pollMs);
    }
    w.listeners.add(listener);
    // a newcomer to a watched run gets where it stands now (then the changes); the client reloads the run if that differs from what it read
    if (w.status !== null) {
      const [status, ...progress] = w.status.split(' ');
      listener({ type: 'run', status: status as string, progress: progress.join(' '), counts: {} });
    } else void this.poll(runId, w);
    return () => {
      const x = this.watches.get(runId);
      if (!x) return;
      x.listeners.delete(listener);
      if (!x.listeners.size) {
        if (x.timer) clearInterval(x.timer);
        this.watches.delete(runId);
      }
    };
  }

  private async poll(runId: string, w: Watch): Promise<void> {
    if (w.busy) return;
    w.busy = true;
    try {
      this.reads++;
      const { run, tasks } = await this.data.page(runId);
      const emit = (e: WatchEvent) => {
        for (const l of [...w.listeners]) l(e);
      };
      // the first look is the baseline (a client has just read the run): only changes after it are sent
      const first = w.status === null;
      tasks.key.forEach((key, i) => {
        const state = tasks.states[tasks.state[i] as number] as string;
        if (w.states.get(key) !== state) {
          w.states.set(key, state);
          if (!first) emit({ type: 'task', key, state, attempts: tasks.attempts[i] as number });
        }
      });
      const status = run.orphaned ? 'interrupted' : run.status;
      const sig = `${status} ${run.progress}`;
      if (w.status !== sig) {
        w.status = sig;
        emit({ type: 'run', status, progress: run.progress, counts: run.counts });
      }
    } catch {
      /* the store is being written: try again next tick */
    } finally {
      w.busy = false;
    }
  }

  close(): void {
    for (const w of this.watches.values()) if (w.timer) clearInterval(w.timer);
    this.watches.clear();
  }
}
