import { loadPipelineFile } from '@sluice/executor';
import { planRun } from '../plan.ts';

export async function dryRunCommand(file: string, o: { export?: string; param: string[]; store: string; json?: boolean; cache: boolean }): Promise<number> {
  const loaded = await loadPipelineFile(file, o.export);
  const params: Record<string, string> = {};
  for (const f of o.param) {
    const i = f.indexOf('=');
    params[f.slice(0, i)] = f.slice(i + 1);
  }
  const code = await (await import('@sluice/bundle')).pipelineCodeHash(file, o.export);
  const plan = await planRun(loaded, { params, paramsFromCli: true, storeDir: o.store, noCache: !o.cache, ...('hash' in code ? { codeHash: code.hash } : {}) });
  if (o.json) process.stdout.write(JSON.stringify(plan, null, 2) + '\n');
  else process.stdout.write(plan.text);
  return 0;
}
