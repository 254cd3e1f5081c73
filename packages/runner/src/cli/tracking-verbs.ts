/** Registers the tracking and registry verbs; their code (and @sluice/tracking) loads only when one runs. */
import type { Command } from 'commander';
import { storeFlag } from './flags.ts';

export function registerTrackingVerbs(program: Command, setCode: (code: number) => void): void {
  // found as every other verb finds it: --store, else $SLUICE_STORE, else the nearest .sluice/ here or above
  const store = (c: Command) => c.option('--store <dir>', 'state directory (default: $SLUICE_STORE, else the nearest .sluice/ here or above)', storeFlag);
  const load = async () => {
    const [commands, { locateStore }] = await Promise.all([import('./tracking.ts'), import('../backend/location.ts')]);
    return { commands, at: <T extends { store?: string }>(o: T) => ({ ...o, store: locateStore({ flag: o.store }).root }) };
  };
  store(program.command('metrics <run>').description('metrics a run logged (ctx.log.metric): last, min, max, steps and a sparkline').option('--task <key>', 'only this task').option('--json', 'JSON output'))
    .action(async (run: string, o: { store?: string; task?: string; json?: boolean }) => { const { commands, at } = await load(); setCode(await commands.metricsCommand(run, at(o))); });
  store(program.command('compare <runs...>').description('two or more runs side by side: params, metrics, artifacts, code commit; differences marked').option('--json', 'JSON output'))
    .action(async (runs: string[], o: { store?: string; json?: boolean }) => { const { commands, at } = await load(); setCode(await commands.compareCommand(runs, at(o))); });
  store(program.command('models <action> [args...]').description('the model registry: list | show <name> | promote <name> <version> --alias <a> | rollback <name> --alias <a>').option('--alias <alias>', 'alias (default champion)').option('--json', 'JSON output'))
    .action(async (action: string, args: string[], o: { store?: string; alias?: string; json?: boolean }) => { const { commands, at } = await load(); setCode(await commands.modelsCommand(action, args, at(o))); });
  store(program.command('cat <artifact>').description('print a text artifact: <run>/<task>/<output> or a content-hash prefix'))
    .action(async (a: string, o: { store?: string }) => { const { commands, at } = await load(); setCode(commands.catCommand(a, at(o))); });
  store(program.command('tracking <action>').description('tracking to MLflow: flush (send runs still pending) | status').option('--json', 'JSON output'))
    .action(async (action: string, o: { store?: string; json?: boolean }) => { const { commands, at } = await load(); setCode(await commands.trackingCommand(action, at(o))); });
}
