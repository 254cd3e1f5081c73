/**
 * `node --import ./bench/sqlite-hooks.mjs`: with SLUICE_BENCH_SQLITE=node-sqlite every import of
 * better-sqlite3 gets sqlite-node.mjs (node:sqlite behind better-sqlite3's API), with
 * SLUICE_BENCH_SQLITE=better-binding the workspace's better-sqlite3 with SLUICE_BENCH_BINDING.
 * The stores' code is unchanged.
 */
import { register } from 'node:module';

const which = process.env.SLUICE_BENCH_SQLITE;
const file = which === 'node-sqlite' ? 'sqlite-node.mjs' : which === 'better-binding' ? 'sqlite-better22.mjs' : undefined;
if (file) {
  const target = new URL(file, import.meta.url).href;
  const hook = `export async function resolve(s, c, next) { return s === 'better-sqlite3' ? { url: ${JSON.stringify(target)}, shortCircuit: true } : next(s, c); }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
}
