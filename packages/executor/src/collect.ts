/**
 * Collected artifact inputs in a pod (artifact fan-in on Argo). The compiler stores every loop
 * iteration's artifact under one repository prefix, one entry per iteration named by its pod, and
 * gives the collecting step that prefix as ONE directory (`--artifact name=<dir>`) plus the entry
 * names in item order (`--artifact-order name=<JSON list>`, Argo's aggregated output of the loop).
 * These pure functions turn that into the list of paths the local runner passes for the same
 * input, so the step sees the same `InputArtifact[]` in both places.
 *
 * Extra entries (a failed attempt's upload, another call of the same nested pipeline) are ignored:
 * only the entries the order names are used.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The executor flag carrying, for one list input, its directory's entry names in item order. */
import { ARTIFACT_ORDER_FLAG } from './contract.ts';
export { ARTIFACT_ORDER_FLAG };

/** A collected input that cannot be assembled: the inputs are invalid (exit code 2, never retried). */
export class CollectError extends Error {
  override readonly name = 'CollectError';
}

/**
 * Parses the value of one `--artifact-order` flag, `name=<JSON list of entry names>`.
 *
 * @example parseArtifactOrder('models=["wf-fit-1","wf-fit-2"]') // { name: 'models', entries: ['wf-fit-1', 'wf-fit-2'] }
 */
export function parseArtifactOrder(value: string): { name: string; entries: string[] } {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new CollectError(`${ARTIFACT_ORDER_FLAG} expects name=<JSON list of entry names>, got ${JSON.stringify(value)}`);
  const name = value.slice(0, eq);
  const text = value.slice(eq + 1);
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    throw new CollectError(`input ${name}: ${ARTIFACT_ORDER_FLAG} expects a JSON list of entry names, got ${JSON.stringify(text.slice(0, 120))}`);
  }
  if (!Array.isArray(list) || !list.every((e) => typeof e === 'string')) {
    throw new CollectError(`input ${name}: ${ARTIFACT_ORDER_FLAG} expects a JSON list of entry names, got ${JSON.stringify(text.slice(0, 120))}`);
  }
  for (const e of list as string[]) {
    if (e === '' || e === '.' || e === '..' || e.includes('/') || e.includes('\\')) throw new CollectError(`input ${name}: entry name ${JSON.stringify(e)} is not a single path segment`);
  }
  return { name, entries: list as string[] };
}

/**
 * The paths of a collected input, one per iteration in item order: `<dir>/<entry>` for each entry.
 * An empty order gives `[]` (the directory may then be absent: a loop over no items stores nothing).
 *
 * @throws CollectError naming the input when the directory or an entry is missing.
 * @example collectedPaths('models', '/tmp/sluice/inputs/models', ['wf-fit-1', 'wf-fit-2'])
 * // ['/tmp/sluice/inputs/models/wf-fit-1', '/tmp/sluice/inputs/models/wf-fit-2']
 */
export function collectedPaths(name: string, dir: string, entries: readonly string[]): string[] {
  if (!entries.length) return [];
  if (!existsSync(dir)) throw new CollectError(`input ${name}: the collected artifacts' directory ${dir} is missing (expected ${entries.length} entries); did the loop's steps store their artifacts in the artifact repository?`);
  const present = new Set(readdirSync(dir));
  const missing = entries.map((e, i) => ({ e, i })).filter(({ e }) => !present.has(e));
  if (missing.length) {
    const list = missing.slice(0, 5).map(({ e, i }) => `item ${i} ("${e}")`).join(', ');
    throw new CollectError(`input ${name}: ${missing.length} of ${entries.length} collected artifacts are missing from ${dir}: ${list}${missing.length > 5 ? ', ...' : ''}`);
  }
  return entries.map((e) => join(dir, e));
}

/**
 * Applies every `--artifact-order` to the `--artifact` paths: each ordered input's single directory
 * becomes its list of entries. Inputs without an order are returned unchanged.
 *
 * @param artifacts `--artifact` values by input name (as `parseExecArgs` collects them)
 * @param orders raw `--artifact-order` values (`name=<JSON list>`), in flag order
 * @throws CollectError naming the input: an order without its `--artifact`, or one with more than one path, or a missing entry.
 * @example
 * resolveCollectedArtifacts({ models: ['/tmp/sluice/inputs/models'] }, ['models=["p1","p2"]'])
 * // { models: ['/tmp/sluice/inputs/models/p1', '/tmp/sluice/inputs/models/p2'] }
 */
export function resolveCollectedArtifacts(artifacts: { readonly [name: string]: readonly string[] }, orders: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(artifacts)) out[k] = [...v];
  for (const raw of orders) {
    const { name, entries } = parseArtifactOrder(raw);
    const dirs = artifacts[name];
    if (!dirs || dirs.length !== 1) throw new CollectError(`input ${name}: ${ARTIFACT_ORDER_FLAG} needs exactly one --artifact ${name}=<directory>, got ${dirs?.length ?? 0}`);
    out[name] = collectedPaths(name, dirs[0]!, entries);
  }
  return out;
}
