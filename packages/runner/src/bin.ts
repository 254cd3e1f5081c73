// Entry of the `sluice` command. `sluice exec` (run in every step's process) skips the CLI's imports.
const argv = process.argv.slice(2);
if (argv[0] === 'exec' && argv[1] === '--worker') {
  const { workerMain } = await import('@sluice/executor');
  process.exit(await workerMain(argv.slice(2)));
} else if (argv[0] === 'exec') {
  const { execMain } = await import('@sluice/executor');
  const code = await execMain(argv.slice(1));
  process.exit(code);
} else {
  const { main } = await import('./cli/main.ts');
  process.exitCode = await main(argv);
}
