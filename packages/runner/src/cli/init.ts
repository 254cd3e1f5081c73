/**
 * `sluice init [dir]`: writes a new Sluice project (the same files as `npm create sluice`).
 */
import type { Command } from 'commander';
import { nextSteps, scaffold, ScaffoldError } from 'create-sluice';

/**
 * Adds `sluice init` to the CLI; `done` receives the exit code.
 *
 * @example
 * registerInit(program, (c) => { code = c; });
 * // sluice init my-pipelines
 */
export function registerInit(program: Command, done: (code: number) => void): void {
  program
    .command('init [dir]')
    .description('write a new pipeline project into dir (default: the current directory)')
    .option('--name <name>', 'package name (default: the directory name)')
    .action((dir: string | undefined, o: { name?: string }) => {
      try {
        process.stdout.write(nextSteps(scaffold(dir ?? '.', o.name ? { name: o.name } : {})));
        done(0);
      } catch (e) {
        if (!(e instanceof ScaffoldError)) throw e;
        process.stderr.write(`sluice init: ${e.message}\n`);
        done(2);
      }
    });
}
