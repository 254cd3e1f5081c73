// `sluice build`: the image context (Dockerfile, .dockerignore, a pruned production install).
// No docker engine here: the files' content is checked, and the pruned install, copied alone
// out of the repository, runs a step with plain node.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, test } from 'vitest';
import { buildContext } from '../src/build.ts';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.resolve(here, '../../bundle/test/fixture/pipeline.ts');
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

test('writes a Dockerfile, a .dockerignore and a pruned install that runs a step alone', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'sluice-build-'));
  dirs.push(out);
  const r = await buildContext(fixture, { outDir: out });
  const docker = readFileSync(path.join(out, 'Dockerfile'), 'utf8');
  expect(docker).toMatch(/^FROM node:20-slim$/m);
  expect(docker).toMatch(/^COPY app\/ \/app\/$/m);
  expect(docker).not.toMatch(/COPY \. \./);
  expect(docker).toMatch(/ln -s \/app\/node_modules\/@sluice\/executor\/bin\/sluice-exec\.mjs \/usr\/local\/bin\/sluice-exec/);
  expect(readFileSync(path.join(out, '.dockerignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['*', '!app/', '!Dockerfile']));
  // the pipeline's own files, at their paths, and only the runtime packages
  expect(r.files).toEqual(['packages/bundle/test/fixture/pipeline.ts', 'packages/bundle/test/fixture/src/helper.ts']);
  for (const p of ['@sluice/executor', '@sluice/sdk', 'zod', 'tsx']) expect(r.packages).toContain(p);
  for (const p of ['vitest', '@sluice/runner', '@sluice/compiler', 'better-sqlite3', 'ts-morph', '@kubernetes/client-node']) expect(r.packages).not.toContain(p);
  expect(r.entryInImage).toBe('/app/packages/bundle/test/fixture/pipeline.ts');

  // the install alone, outside the repository: a step runs through sluice-exec
  const alone = mkdtempSync(path.join(tmpdir(), 'sluice-image-'));
  dirs.push(alone);
  cpSync(path.join(out, 'app'), path.join(alone, 'app'), { recursive: true });
  expect(existsSync(path.join(alone, 'node_modules'))).toBe(false);
  const exec = path.join(alone, 'app/node_modules/@sluice/executor/bin/sluice-exec.mjs');
  const entry = path.join(alone, 'app/packages/bundle/test/fixture/pipeline.ts');
  const env = { PATH: process.env.PATH ?? '', HOME: alone };
  // the executor names the components it finds (their hashes are those of the code as the image loads it)
  const miss = await run(process.execPath, [exec, '--entry', entry, '--component', '0000000000000000', '--task', 'scale', '--outputs', path.join(alone, 'o')], { cwd: alone, env }).catch((e: { stderr: string }) => e);
  const hash = /\n {2}scale ([0-9a-f]{16})/.exec((miss as { stderr: string }).stderr)?.[1];
  expect(hash).toMatch(/^[0-9a-f]{16}$/);
  await run(process.execPath, [exec, '--entry', entry, '--component', hash!, '--task', 'scale', '--param', 'x=21', '--outputs', path.join(alone, 'out')], { cwd: alone, env });
  expect(readFileSync(path.join(alone, 'out/parameters/y'), 'utf8')).toBe('42');
}, 180_000);
