// Child of the run benchmark: runs one fixture pipeline (so that the benchmark can SIGKILL it).
import { runPipeline } from '../packages/runner/src/index.ts';
import * as fixtures from './run-fixtures.ts';

const [name, storeDir, runId] = process.argv.slice(2) as [string, string, string];
await runPipeline((fixtures as Record<string, unknown>)[name], { storeDir, mode: 'inprocess', runId, gpus: [] });
