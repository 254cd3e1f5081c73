import { join } from 'node:path';
import { loadPipelineFile } from '@sluice/executor';
import { loadingUserModule, RunnerError } from '../errors.ts';
import { planRun } from '../plan.ts';
import { checkPipelineFile } from './flags.ts';

export async function dryRunCommand(file: string, o: { export?: string; param: string[]; store: string; json?: boolean; cache: boolean }): Promise<number> {
  checkPipelineFile(file);
  const params: Record<string, string> = {};
  for (const f of o.param) {
    const i = f.indexOf('=');
    if (i <= 0) throw new RunnerError('cli.param', `--param expects name=value, got "${f}"`);
    params[f.slice(0, i)] = f.slice(i + 1);
  }
  const loaded = await loadingUserModule(file, () => loadPipelineFile(file, o.export));
  const code = await (await import('@sluice/bundle')).pipelineCodeHash(file, o.export, { cacheFile: join(o.store, 'code-hashes.json') }); // read only: a dry run writes nothing
  const plan = await planRun(loaded, { params, paramsFromCli: true, storeDir: o.store, noCache: !o.cache, ...('hash' in code ? { codeHash: code.hash } : {}) });
  if (o.json) process.stdout.write(JSON.stringify(plan, null, 2) + '\n');
  else process.stdout.write(plan.text);
  return 0;
}
