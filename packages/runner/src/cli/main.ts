import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Help } from 'commander';
import { environmentProblem, ParamsError, RunnerError, UserModuleError } from '../errors.ts';
import { registerVerbs, verbOf } from './verbs.ts';

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Errors that are the user's to fix (one line, exit 2), by name: their classes live in modules a verb may not have loaded. */
const USER_ERRORS = new Set(['RunnerError', 'ExecutorError', 'SluiceValidationError', 'TrackingError', 'MlflowError']);

/**
 * The program with the verb `argv` runs registered in full and every other verb as a stub (its
 * help line only); see `verbs.ts`. With `all`, every verb is registered in full.
 */
export async function buildProgram(argv: readonly string[], setCode: (code: number) => void, o: { all?: boolean } = {}): Promise<Command> {
  const program = new Command('sluice').description('Typed ML pipelines: run locally, compile to Argo Workflows').exitOverride()
    .version(version(), '-V, --version', 'print the version of sluice')
    .showHelpAfterError("(run 'sluice help <command>' for its options)");
  const stubs = await registerVerbs(program, verbOf(argv), { argv, setCode }, o);
  program.configureHelp({ subcommandTerm: (cmd) => stubs.get(cmd) ?? Help.prototype.subcommandTerm.call(new Help(), cmd) });
  // commander's messages (unknown option, invalid value) are one line on stderr; its help on stdout
  const writeErr = (t: string) => void process.stderr.write(t.startsWith('error: ') ? `sluice: ${t.slice(7)}` : t);
  const configure = (c: Command): void => {
    c.configureOutput({ writeErr });
    c.commands.forEach(configure);
  };
  configure(program);
  program.hook('preAction', (_program, action) => refuseEmptyValues(action));
  return program;
}

/**
 * An argument or an option given an empty value (\`--image "$IMAGE"\`, \`sluice stop "$RUN"\` with
 * the variable unset) is refused, as commander refuses a value its parser rejects: an empty option
 * value was taken as "not given" (the default, silently), an empty run id as a prefix of every run,
 * an empty file as the working directory.
 */
function refuseEmptyValues(cmd: Command): void {
  cmd.registeredArguments.forEach((a, i) => {
    const v: unknown = cmd.processedArgs[i];
    if (v === '' || (Array.isArray(v) && v.includes(''))) {
      cmd.error(`error: argument '${a.name()}' is empty (an unset variable?): give a value.`, { exitCode: 2, code: 'commander.invalidArgument' });
    }
  });
  for (const o of cmd.options) {
    if (!o.required && !o.optional) continue;
    const name = o.attributeName();
    if (cmd.getOptionValueSource(name) !== 'cli') continue;
    const v: unknown = cmd.getOptionValue(name);
    if (v === '' || (Array.isArray(v) && v.includes(''))) {
      cmd.error(`error: option '${o.flags}' argument '' is invalid. expected a value, got an empty string (an unset variable?).`, { exitCode: 2, code: 'commander.invalidArgument' });
    }
  }
}

/** Runs the `sluice` command line; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  try {
    const program = await buildProgram(argv, (c) => { code = c; });
    process.exitCode = undefined;
    await program.parseAsync([...argv], { from: 'user' });
    // a verb that reports its result through process.exitCode (compile) is not overwritten with 0
    return code || (typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0) || 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (process.env.SLUICE_DEBUG === '1') process.stderr.write(`${(e instanceof UserModuleError ? (e.original as Error)?.stack : undefined) ?? (e as Error).stack ?? e}\n`);
    if (e instanceof ParamsError) {
      process.stderr.write(`sluice: ${e.message}\nnothing was run.\n`);
      return 2;
    }
    // stopped (Ctrl-C) before anything of the run was recorded: as an interrupted run exits
    if (e instanceof RunnerError && e.code === 'run.stopped') {
      process.stderr.write(`sluice: ${e.message}\n`);
      return 130;
    }
    if (e instanceof RunnerError && e.code === 'store.write') {
      process.stderr.write(`sluice: ${e.message}\n`);
      return 1;
    }
    // required tracking lost during a run: the run is recorded, so neither bad input (2) nor a failure of its own
    if ((e as Error).name === 'TrackingError' && (e as { code?: unknown }).code === 'tracking.lost') {
      process.stderr.write(`sluice: ${(e as Error).message}\n`);
      return (e as { exitCode?: number }).exitCode ?? 4;
    }
    if (e instanceof RunnerError || USER_ERRORS.has((e as Error).name)) {
      process.stderr.write(`sluice: ${(e as Error).message}\n`);
      return 2;
    }
    const env = environmentProblem(e);
    if (env) {
      process.stderr.write(`sluice: ${env}\n`);
      return 1;
    }
    process.stderr.write(`sluice: internal error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}
