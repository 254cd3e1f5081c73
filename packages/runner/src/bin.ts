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
  // about it, since whoever reads is gone. Standard output that fails otherwise (`> /dev/full`, a
  // full disk, an I/O error) is dropped likewise, and the command says so at its end on standard
  // error and exits 1 where it would have exited 0: its output is not all there.
  let lost: NodeJS.ErrnoException | undefined;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      stream.write = (() => true) as typeof stream.write;
      if (e.code !== 'EPIPE' && stream === process.stdout) lost ??= e;
    });
  }
  process.on('exit', (code) => {
    if (!lost) return;
    try { process.stderr.write(`sluice: standard output could not be written (${lost.message}); the rest of it was dropped\n`); } catch { /* standard error failed too */ }
    if (code === 0) process.exitCode = 1;
  });
  const { main } = await import('./cli/main.ts');
  process.exitCode = await main(argv);
}
