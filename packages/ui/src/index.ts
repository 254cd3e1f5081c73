/**
 * `@sluice/ui`: a local, read-only web view of a store's runs, DAGs, logs, artifacts, metrics
 * and models (`sluice ui`). The server and its dependencies load only when the verb runs.
 */
import type { Command } from 'commander';

export function registerUi(program: Command, setCode: (code: number) => void): void {
  program.command('ui').description('a read-only web view of runs, DAGs, logs, artifacts, metrics and models (http://127.0.0.1)')
    .option('--store <dir>', 'state directory', '.sluice').option('--port <n>', 'port (0: any free one)', '0')
    .option('--host <host>', 'address to bind (beyond loopback a token is required)', '127.0.0.1').option('--open', 'open it in a browser')
    .action(async (o: { store: string; port: string; host: string; open?: boolean }) => setCode(await (await import('./serve.ts')).uiCommand(o)));
}
export type { StartOptions, RunningUi } from './serve.ts';
