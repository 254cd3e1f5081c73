/**
 * The workspace's better-sqlite3 with a binding built for another Node's ABI (SLUICE_BENCH_BINDING,
 * from scripts/node22.sh binding): the bench runs the same package on Node 22 without rebuilding the
 * workspace's own binding (which is Node 20's).
 */
import { createRequire } from 'node:module';

const require = createRequire(new URL('../packages/runner/package.json', import.meta.url));
const Real = require('better-sqlite3');
const nativeBinding = process.env.SLUICE_BENCH_BINDING;

export default function Database(file, opts = {}) {
  return new Real(file, { nativeBinding, ...opts });
}
Database.prototype = Real.prototype;
