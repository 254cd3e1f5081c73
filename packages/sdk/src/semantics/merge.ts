/**
 * How option layers combine, once: the pipeline's `taskDefaults`, then the component's defaults,
 * then the task's own options. Used by the compiler and the local engine alike.
 *
 * - Scalars (`image`, `retry`, `cache`, `timeoutSeconds`, ...): the later layer wins.
 * - Maps (`labels`, `annotations`, `nodeSelector`) and `resources`: merged by key, later wins.
 * - Environment (`env`, `secretEnv`, `configMapEnv`): merged by variable name across the three
 *   maps; a later layer that sets a name (in any of them) replaces it in all of them.
 * - Lists accumulate: `synchronization` mutexes and semaphores are the union of every layer's;
 *   `volumes` are the union by volume name (a later layer's volume of the same name replaces the
 *   earlier one); `tolerations` are the union of distinct tolerations.
 */
import type { SynchronizationIR, TaskOptionsIR, TolerationIR, VolumeIR } from '../ir.ts';
import { canonicalJson } from './json.ts';

function sorted<V>(r: Readonly<Record<string, V>>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k]!;
  return out;
}

const MAPS = new Set(['nodeSelector', 'labels', 'annotations']);
const ENV = ['env', 'secretEnv', 'configMapEnv'] as const;

/** The union of two synchronization settings (mutexes sorted, semaphores sorted by `configMap/key`). */
export function mergeSynchronization(a: SynchronizationIR | undefined, b: SynchronizationIR | undefined): SynchronizationIR | undefined {
  if (!a) return b;
  if (!b) return a;
  const mutexes = [...new Set([...(a.mutexes ?? []), ...(b.mutexes ?? [])])].sort();
  const sems = new Map<string, { configMap: string; key: string }>();
  for (const s of [...(a.semaphores ?? []), ...(b.semaphores ?? [])]) sems.set(`${s.configMap}/${s.key}`, { configMap: s.configMap, key: s.key });
  const semaphores = [...sems.keys()].sort().map((k) => sems.get(k)!);
  return { ...(mutexes.length ? { mutexes } : {}), ...(semaphores.length ? { semaphores } : {}) };
}

function mergeVolumes(a: readonly VolumeIR[] | undefined, b: readonly VolumeIR[]): VolumeIR[] {
  const out = [...(a ?? [])];
  for (const v of b) {
    const i = out.findIndex((x) => x.name === v.name);
    if (i >= 0) out[i] = v;
    else out.push(v);
  }
  return out;
}

function mergeTolerations(a: readonly TolerationIR[] | undefined, b: readonly TolerationIR[]): TolerationIR[] {
  const out = [...(a ?? [])];
  const seen = new Set(out.map((t) => canonicalJson(t)));
  for (const t of b) if (!seen.has(canonicalJson(t))) { seen.add(canonicalJson(t)); out.push(t); }
  return out;
}

/**
 * Merges option layers (later layers win; see the module doc for maps and lists).
 *
 * @example
 * mergeTaskOptions({ env: { A: '1' }, synchronization: { mutexes: ['a'] } }, { env: { B: '2' }, synchronization: { mutexes: ['b'] } })
 * // { env: { A: '1', B: '2' }, synchronization: { mutexes: ['a', 'b'] } }
 */
export function mergeTaskOptions(...layers: (TaskOptionsIR | undefined)[]): TaskOptionsIR {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const name of ENV) {
      const v = layer[name];
      if (!v) continue;
      for (const other of ENV) {
        const cur = out[other] as Record<string, unknown> | undefined;
        if (!cur) continue;
        const kept = Object.fromEntries(Object.entries(cur).filter(([k]) => other === name || !(k in v)));
        out[other] = kept;
      }
      out[name] = sorted({ ...(out[name] as Record<string, unknown> | undefined), ...v });
    }
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined || (ENV as readonly string[]).includes(k)) continue;
      if (MAPS.has(k)) out[k] = sorted({ ...(out[k] as Record<string, unknown> | undefined), ...(v as Record<string, unknown>) });
      else if (k === 'resources') out[k] = { ...(out[k] as object | undefined), ...(v as object) };
      else if (k === 'synchronization') out[k] = mergeSynchronization(out[k] as SynchronizationIR | undefined, v as SynchronizationIR);
      else if (k === 'volumes') out[k] = mergeVolumes(out[k] as VolumeIR[] | undefined, v as VolumeIR[]);
      else if (k === 'tolerations') out[k] = mergeTolerations(out[k] as TolerationIR[] | undefined, v as TolerationIR[]);
      else out[k] = v;
    }
  }
  for (const name of ENV) if (out[name] && !Object.keys(out[name] as object).length) delete out[name];
  return out as TaskOptionsIR;
}

/**
 * The options a task runs with: the pipeline's task defaults, then its component's defaults, then
 * its own options.
 */
export function effectiveTaskOptions(
  pipelineOptions: { readonly taskDefaults?: TaskOptionsIR },
  component: { readonly defaults: TaskOptionsIR } | undefined,
  task: { readonly options: TaskOptionsIR },
): TaskOptionsIR {
  return mergeTaskOptions(pipelineOptions.taskDefaults, component?.defaults, task.options);
}
