/**
 * Lineage as data: an artifact's producer, that task's inputs, and theirs, following the recorded
 * edges (the consumption rows the engine writes when a task starts: input -> producing task
 * output). Content hashes only find where to start; the walk never looks one up, so two tasks
 * that wrote the same bytes are never confused.
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import type { JsonValue } from '@sluice/sdk';
import { RunnerError } from '../errors.ts';
import type { ArtifactRow, StateStore } from '../store/state.ts';
import type { LineageView, ProducerView } from '../backend/views.ts';
import { naturalCompare } from './order.ts';
import { findRunRow } from './runs.ts';

/** Where a lineage walk starts: a task output of a run. */
export interface LineageStart { readonly run: string; readonly task: string; readonly output: string; readonly hash: string }

function isArtifact(v: unknown): v is { kind: 'artifact'; hash: string } {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'artifact';
}

/**
 * Resolves what the user named: `<task>.<output>` of a run (`run`, default the latest), or a
 * sha256 prefix or a path in the artifact store. Bytes several tasks produced start at the
 * oldest task that ran (not a cache hit): where the bytes first came from, unless `run` narrows it.
 */
export function lineageStart(store: StateStore, artifact: string, run?: string): LineageStart {
  const hashLike = /^(sha256:)?[0-9a-f]{6,64}$/.test(artifact);
  if (!hashLike && !existsSync(artifact) && artifact.includes('.')) {
    const row = findRunRow(store, run ?? 'latest');
    const dot = artifact.lastIndexOf('.');
    const task = artifact.slice(0, dot), output = artifact.slice(dot + 1);
    const a = store.artifactsOfTask(row.id, task).find((x) => x.output === output);
    if (!a) {
      const known = store.artifactsOfRun(row.id).map((x) => `${x.task_key}.${x.output}`).sort(naturalCompare);
      throw new RunnerError('artifact.unknown', `run ${row.id} has no artifact ${artifact}${known.length ? `; its artifacts: ${known.slice(0, 12).join(', ')}${known.length > 12 ? ', …' : ''}` : ''}`);
    }
    return { run: row.id, task: a.task_key, output: a.output, hash: a.hash };
  }
  // a path names an object of the artifact store (a file named by its full hash); other text names nothing
  const hash = hashLike ? artifact.replace(/^sha256:/, '') : existsSync(artifact) ? basename(realpathSync(artifact)) : '';
  let found = /^[0-9a-f]{6,64}$/.test(hash) && (hashLike || hash.length === 64) ? store.artifactsByHash(hash) : [];
  if (!found.length) throw new RunnerError('artifact.unknown', `no artifact ${artifact} in ${store.file}: give a sha256 (prefix), a path in the artifact store, or <task>.<output> (with --run)`);
  if (new Set(found.map((a) => a.hash)).size > 1) throw new RunnerError('artifact.ambiguous', `${artifact} matches several artifacts; give more of the hash`);
  if (run) {
    const id = findRunRow(store, run).id;
    found = found.filter((a) => a.run_id === id);
    if (!found.length) throw new RunnerError('artifact.unknown', `run ${id} did not produce ${artifact}`);
  }
  const rank = (a: ArtifactRow) => {
    const t = store.getTask(a.run_id, a.task_key);
    return [t?.state === 'succeeded' ? 0 : 1, store.getRun(a.run_id)?.created_at ?? 0] as const;
  };
  const best = [...found].sort((a, b) => {
    const x = rank(a), y = rank(b);
    return x[0] - y[0] || x[1] - y[1];
  })[0] as ArtifactRow;
  return { run: best.run_id, task: best.task_key, output: best.output, hash: best.hash };
}

/** The lineage tree of a task output, each producer expanded once (later mentions are `repeated`). */
export function lineageView(store: StateStore, start: LineageStart): LineageView {
  const seen = new Set<string>();
  const runs = new Map<string, { git: string | null; params: { [name: string]: JsonValue } | null }>();
  const runInfo = (id: string) => {
    let r = runs.get(id);
    if (!r) {
      const row = store.getRun(id);
      r = { git: row?.git_commit ? `${row.git_commit.slice(0, 12)}${row.git_dirty ? '+dirty' : ''}` : null, params: row ? (JSON.parse(row.params) as { [name: string]: JsonValue }) : null };
      runs.set(id, r);
    }
    return r;
  };
  const walk = (run: string, task: string, output: string, hash: string): LineageView => {
    const art = store.artifactsOfTask(run, task).find((a) => a.output === output);
    const t = store.getTask(run, task);
    if (!art || !t) return { hash, producedBy: null, origin: 'not recorded', params: {}, inputs: [] };
    const info = runInfo(run);
    const producedBy: ProducerView = { run, task, output, type: art.type, cachedFrom: t.cached_from, git: info.git, runParams: info.params };
    const id = `${run}/${task}`;
    if (seen.has(id)) return { hash, producedBy, params: {}, inputs: [], repeated: true };
    seen.add(id);
    const values = (t.inputs ? JSON.parse(t.inputs) : {}) as Record<string, unknown>;
    const params: Record<string, JsonValue> = {};
    const artifactInputs = new Set<string>();
    for (const [name, v] of Object.entries(values)) {
      if (isArtifact(v) || (Array.isArray(v) && v.length > 0 && v.every(isArtifact))) artifactInputs.add(name);
      else params[name] = v as JsonValue;
    }
    const inputs: { name: string; lineage: LineageView }[] = [];
    const edges = store.consumptionsOf(run, task);
    for (const e of edges) {
      artifactInputs.delete(e.input);
      const name = edges.some((x) => x.input === e.input && x.idx !== e.idx) ? `${e.input}[${e.idx}]` : e.input;
      inputs.push({ name, lineage: e.from_task !== null && e.from_run !== null ? walk(e.from_run, e.from_task, e.from_output as string, e.hash) : { hash: e.hash, producedBy: null, origin: 'pipeline input', params: {}, inputs: [] } });
    }
    // inputs of a run recorded before consumption edges existed: their producers are unknown
    for (const name of artifactInputs) {
      const v = values[name];
      const list = Array.isArray(v) ? v : [v];
      list.forEach((a, i) => inputs.push({ name: list.length > 1 ? `${name}[${i}]` : name, lineage: { hash: (a as { hash: string }).hash, producedBy: null, origin: 'not recorded', params: {}, inputs: [] } }));
    }
    inputs.sort((a, b) => naturalCompare(a.name, b.name));
    return { hash, producedBy, params, inputs };
  };
  return walk(start.run, start.task, start.output, start.hash);
}
