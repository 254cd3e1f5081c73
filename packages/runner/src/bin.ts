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
  // A reader that goes away (`sluice show | head`, `sluice run --json | head -4`) closes the pipe:
  // the rest of the output is dropped. A run goes on to its end and records it; nothing is printed
  // about it, since whoever reads is gone.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      stream.write = (() => true) as typeof stream.write;
    });
  }
  const { main } = await import('./cli/main.ts');
  process.exitCode = await main(argv);
}
