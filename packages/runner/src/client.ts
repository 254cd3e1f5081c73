/**
 * Reading runs from a script or notebook: `openStore()` over a store directory, read-only, through
 * the same query layer (`src/query/`) that `sluice runs` and `sluice show` print from.
 */
import type { RunFilter, RunSummaryView, RunView } from './backend/views.ts';
import { findRunRow, listRunViews, runView } from './query/runs.ts';
import { storePaths } from './run.ts';
import { StateStore } from './store/state.ts';

/** The runs of a store. */
export interface Runs {
  /** Newest first; `limit` defaults to 20. */
  list(filter?: RunFilter): RunSummaryView[];
  /**
   * A run by id, unique id prefix or `latest` (`latest:<pipeline>`): its tasks in DAG order with
   * their attempts and cache hits or misses, its outputs, and its artifacts with the tasks that
   * consumed them (lineage as recorded edges). Throws a `RunnerError` (`run.unknown`) when there is none.
   */
  get(id: string): RunView;
}

/** A store opened for reading. */
export interface Store {
  /** Absolute directory of the store. */
  readonly dir: string;
  readonly runs: Runs;
  close(): void;
}

/**
 * Opens a store for reading (default `.sluice` in the working directory).
 *
 * @example
 * const store = openStore();
 * for (const r of store.runs.list({ pipeline: 'tabular-training', status: 'succeeded' })) console.log(r.id, r.progress);
 * const run = store.runs.get('latest');
 * console.log(run.outputs, run.tasks.map((t) => `${t.key} ${t.state} ${t.attempts.length}`));
 * store.close();
 */
export function openStore(dir = '.sluice'): Store {
  const paths = storePaths(dir);
  const s = StateStore.open(paths.db, { readonly: true });
  return {
    dir: paths.root,
    runs: {
      list: (filter = {}) => listRunViews(s, paths.root, filter),
      get: (id) => runView(s, findRunRow(s, id), paths.root),
    },
    close: () => s.close(),
  };
}
