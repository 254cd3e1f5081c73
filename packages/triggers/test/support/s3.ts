import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** Starts the test S3 server (s3rver, 127.0.0.1) in a child process with the given buckets. */
export async function startS3(directory: string, buckets: readonly string[]): Promise<{ port: number; endpoint: string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', join(import.meta.dirname, 's3-server.mjs'), directory, ...buckets], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) ok(Number(m[1]));
    });
    child.once('exit', (code) => fail(new Error(`the S3 test server exited (${code}) before listening`)));
  });
  return {
    port, endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((ok) => {
      if (child.exitCode !== null) return ok();
      child.once('exit', () => ok());
      child.kill('SIGTERM');
    }),
  };
}
