/**
 * Reading runs from a script or notebook: `openStore()` over a store directory, read-only, through
 * the same query layer (`src/query/`) that `sluice runs` and `sluice show` print from.
 */
import type { RunFilter, RunSummaryView, RunView } from './backend/views.ts';
import { findRunRow, listRunViews, runView } from './query/runs.ts';
import { storePaths } from './run.ts';
import { StateStore } from './store/state.ts';
import { openEmbeddedRegistry, openTrackingStore, type MetricPoint, type ModelVersion } from '@sluice/tracking';

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
  /**
   * Every metric point a run logged (`ctx.log.metric`, and `Metrics` values), ordered by task,
   * name and step.
   *
   * @example
   * const loss = (await store.runs.metrics('latest')).filter((m) => m.name === 'loss').map((m) => m.value);
   */
  metrics(id: string, task?: string): Promise<MetricPoint[]>;
}

/** The model registry of the store (the embedded one; MLflow's through `@sluice/tracking`). */
export interface Models {
  /** The version an alias points at (`champion`), or a version by number; undefined when none. */
  get(name: string, aliasOrVersion: string | number): Promise<ModelVersion | undefined>;
  /** Every version of a model, oldest first. */
  versions(name: string): Promise<ModelVersion[]>;
}

/** A store opened for reading. */
export interface Store {
  /** Absolute directory of the store. */
  readonly dir: string;
  readonly runs: Runs;
  readonly models: Models;
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
      async metrics(id, task) {
        const run = findRunRow(s, id);
        const t = await openTrackingStore(paths.root, { readonly: true });
        try {
          return t.metrics(run.id, task);
        } finally {
          t.close();
        }
      },
    },
    models: {
      async get(name, aliasOrVersion) {
        const r = await openEmbeddedRegistry(paths.root, { readonly: true });
        try {
          return typeof aliasOrVersion === 'number' ? await r.version(name, aliasOrVersion) : await r.byAlias(name, aliasOrVersion);
        } finally {
          r.close();
        }
      },
      async versions(name) {
        const r = await openEmbeddedRegistry(paths.root, { readonly: true });
        try {
          return await r.versions(name);
        } finally {
          r.close();
        }
      },
    },
    close: () => s.close(),
  };
}
