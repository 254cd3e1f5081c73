/**
 * The packages as a user gets them: each package is packed (`pnpm pack`: it builds dist/, applies
 * publishConfig and turns workspace:* into versions), `npm create sluice` runs from the packed
 * create-sluice, and the new project outside the repository installs the packed tarballs with plain
 * npm (no pnpm, no workspace). Then, as a user would: type-check with the project's own tsconfig,
 * the scaffold's own test, `sluice run`, `sluice compile`, the API from a plain .mjs script, `sluice init`.
 *
 * On the machine's Node (20 here) and again on Node 22 (the pinned one `scripts/node22.sh`
 * installs, with its own npm: create, install, type-check, the scaffold's test, run, compile, the
 * .mjs script). Node 22 is required when CI=true; elsewhere its project is skipped, saying so,
 * when it is not installed.
 *
 * Costs one npm install per Node from npm's local cache. better-sqlite3's binding is not built
 * each time: Node 20's project reuses the one the workspace's install built; Node 22's gets the
 * one `scripts/node22.sh binding` built once against Node 22's headers and cached per
 * better-sqlite3 version and ABI. SLUICE_FRESH_NATIVE_BUILD=1 builds it from source in each
 * project instead, as a user's install does. SLUICE_SKIP_FRESH=1 skips the test outside CI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..', '..');
const PACKAGES = ['sdk', 'tracking', 'compiler', 'executor', 'bundle', 'cluster', 'triggers', 'runner', 'ui', 'create-sluice'] as const;
const skip = process.env.SLUICE_SKIP_FRESH === '1' && !process.env.CI;

// The environment of a user's shell: none of pnpm's or this workspace's npm settings.
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_|PNPM_)/i.test(k)));
const npmEnv = {
  ...userEnv,
  // Native builds compile against this Node's headers (never downloaded).
  npm_config_nodedir: process.env.npm_config_nodedir ?? dirname(dirname(process.execPath)),
  npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false',
  // Nothing of the workspace leaks into the project.
  NO_COLOR: '1', FORCE_COLOR: '0', NODE_OPTIONS: '', INIT_CWD: '', npm_config_workspace: '', VITEST: '', VITEST_POOL_ID: '', VITEST_WORKER_ID: '', NODE_ENV: '',
};

interface Out { code: number | null; stdout: string; stderr: string }
function sh(cmd: string, args: readonly string[], cwd: string, timeoutMs = 120_000, env: NodeJS.ProcessEnv = npmEnv): Out {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  const plain = (t: string | null) => (t ?? '').replace(/\x1b\[[0-9;]*m/g, '');
  return { code: r.status, stdout: plain(r.stdout), stderr: `${plain(r.stderr)}${r.error ? String(r.error) : ''}` };
}
function ok(r: Out, what: string): Out {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`);
  return r;
}

/** The better-sqlite3 binding the workspace built (for this Node), and its version. */
function workspaceBinding(): { binding: string; version: string } | undefined {
  try {
    const dir = realpathSync(join(repo, 'packages', 'runner', 'node_modules', 'better-sqlite3'));
    const binding = join(dir, 'build', 'Release', 'better_sqlite3.node');
    const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
    return existsSync(binding) ? { binding, version } : undefined;
  } catch {
    return undefined;
  }
}

/** A Node a fresh project is installed and run with: its `node`, and a user's shell environment with its `npm`/`npx` first on PATH. */
interface Runtime {
  readonly name: string;
  readonly node: string;
  readonly env: NodeJS.ProcessEnv;
  /** Puts a better-sqlite3 binding for this Node into the project installed without install scripts. */
  binding(app: string): void;
  /** A better-sqlite3 binding built for another Node (a different ABI), when there is one here. */
  otherBinding(): string | undefined;
  /** Everything (init, the pod's dependencies, the web view), or what depends on the Node version only. */
  readonly full: boolean;
}

const node20: Runtime = {
  name: `Node ${process.versions.node} (this machine's)`,
  node: process.execPath,
  env: npmEnv,
  full: true,
  otherBinding: () => undefined,
  binding(app) {
    // Reuse the binding the workspace's install built for this same Node and better-sqlite3
    // version (the build itself is setup.sh's, tested there); another version is built here.
    const built = workspaceBinding();
    const target = join(app, 'node_modules', 'better-sqlite3');
    if (built && (JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as { version: string }).version === built.version) {
      mkdirSync(join(target, 'build', 'Release'), { recursive: true });
      copyFileSync(built.binding, join(target, 'build', 'Release', 'better_sqlite3.node'));
    } else {
      ok(sh('npm', ['rebuild', 'better-sqlite3'], app, 1_800_000, { ...this.env, npm_config_build_from_source: 'true' }), 'npm rebuild better-sqlite3');
    }
  },
};

/** Node 22 from scripts/node22.sh: installed (or found warm) in CI, found if installed elsewhere. */
function findNode22(): Runtime | string {
  const script = join(repo, 'scripts', 'node22.sh');
  const r = sh('bash', process.env.CI ? [script] : [script, 'where'], repo, 900_000, process.env);
  if (r.code !== 0) {
    if (process.env.CI) throw new Error(`Node 22 is required in CI (CI=true), and bash scripts/node22.sh failed:\n${r.stderr.slice(-4000)}`);
    return 'Node 22 is not installed here: `bash scripts/node22.sh` installs it under ~/.cache/sluice (CI=true requires it)';
  }
  const dir = r.stdout.trim();
  const env = { ...npmEnv, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, npm_config_nodedir: dir };
  return {
    name: `Node ${basename(dir).replace(/^node-/, '')} (scripts/node22.sh, its npm)`,
    node: join(dir, 'bin', 'node'),
    env,
    full: false,
    otherBinding: () => workspaceBinding()?.binding, // this machine's Node's
    binding(app) {
      // Built once against Node 22's headers and cached per better-sqlite3 version and ABI.
      ok(sh('bash', [script, 'binding', join(app, 'node_modules', 'better-sqlite3')], repo, 1_800_000, process.env), 'node22.sh binding');
    },
  };
}

let packs = '';
const tarballs: Record<string, string> = {};
const node22 = skip ? 'skipped' : findNode22();
if (typeof node22 === 'string' && !skip) console.warn(`[fresh-project] skipping the Node 22 project: ${node22}`);

describe.skipIf(skip)('a fresh npm project from the packed tarballs', () => {
  beforeAll(() => {
    const t0 = performance.now();
    packs = mkdtempSync(join(tmpdir(), 'sluice-packs-'));
    for (const p of PACKAGES) {
      ok(sh('pnpm', ['pack', '--pack-destination', packs], join(repo, 'packages', p), 300_000), `pnpm pack ${p}`);
    }
    for (const f of readdirSync(packs)) {
      const name = f.startsWith('create-sluice') ? 'create-sluice' : `@sluice/${f.replace(/^sluice-/, '').replace(/-\d.*$/, '')}`;
      tarballs[name] = join(packs, f);
    }
    expect(Object.keys(tarballs).sort()).toEqual(['@sluice/bundle', '@sluice/cluster', '@sluice/compiler', '@sluice/executor', '@sluice/runner', '@sluice/sdk', '@sluice/tracking', '@sluice/triggers', '@sluice/ui', 'create-sluice']);
    console.error(`[fresh-project] packed ${PACKAGES.length} packages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }, 1_200_000);

  afterAll(() => {
    if (packs) rmSync(packs, { recursive: true, force: true });
  });

  freshProject(node20);
  if (typeof node22 === 'string') describe.skip(`on Node 22: ${node22}`, () => { it('is skipped', () => {}); });
  else freshProject(node22);
});

function freshProject(rt: Runtime): void {
  let work = '';
  let app = '';
  const run = (cmd: string, args: readonly string[], timeoutMs?: number) => sh(cmd, args, app, timeoutMs, rt.env);

  describe(`on ${rt.name}`, () => {
    beforeAll(() => {
      const t0 = performance.now();
      work = mkdtempSync(join(tmpdir(), 'sluice-fresh-'));
      // npm create sluice app, from the packed create-sluice
      ok(sh('npm', ['exec', '--yes', `--package=${tarballs['create-sluice']}`, '--', 'create-sluice', 'app'], work, 120_000, rt.env), 'npm create sluice');
      app = join(work, 'app');
      // The @sluice packages are not on the registry: point the scaffold's ranges at the tarballs.
      const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
      expect(pkg.type).toBe('module');
      for (const deps of [pkg.dependencies!, pkg.devDependencies!]) {
        for (const name of Object.keys(deps)) if (tarballs[name]) deps[name] = `file:${tarballs[name]}`;
      }
      // the runner's own, not on the registry either
      for (const name of ['@sluice/compiler', '@sluice/bundle', '@sluice/cluster', '@sluice/triggers', 'create-sluice']) pkg.devDependencies![name] = `file:${tarballs[name]}`;
      pkg.devDependencies!['@sluice/ui'] = `file:${tarballs['@sluice/ui']}`; // as `npm i -D @sluice/ui` adds it
      pkg.dependencies!['@sluice/tracking'] = `file:${tarballs['@sluice/tracking']}`; // the executor's
      writeFileSync(join(app, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
      // better-sqlite3's native build takes one to fifteen minutes here (one C file, -O3, on a shared
      // 2-core machine). Unless SLUICE_FRESH_NATIVE_BUILD=1, install without install scripts and put
      // in a binding built for this Node (rt.binding); otherwise build it as a user's npm install does,
      // without fetching a prebuilt binary from GitHub (only the package registry is reachable here).
      if (process.env.SLUICE_FRESH_NATIVE_BUILD !== '1') {
        ok(run('npm', ['install', '--ignore-scripts'], 900_000), 'npm install');
        rt.binding(app);
      } else {
        ok(sh('npm', ['install'], app, 1_800_000, { ...rt.env, npm_config_build_from_source: 'true' }), 'npm install');
      }
      console.error(`[fresh-project] ${rt.name}: created and installed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }, 2_400_000);

    afterAll(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('has no workspace above it, installed the packed builds, and runs on this Node', () => {
      expect(app.startsWith(repo)).toBe(false);
      const runner = join(app, 'node_modules', '@sluice', 'runner');
      expect(existsSync(join(runner, 'dist', 'index.js'))).toBe(true);
      expect(existsSync(join(runner, 'src'))).toBe(false);
      expect(existsSync(join(runner, 'test'))).toBe(false);
      const manifest = JSON.parse(readFileSync(join(runner, 'package.json'), 'utf8')) as { exports: { '.': { types: string } }; engines: { node: string } };
      expect(manifest.exports['.'].types).toBe('./dist/index.d.ts');
      expect(manifest.engines.node).toBe('>=20.19');
      // what `npx sluice` and `npm test` start: this Node, found on PATH as a user's shell finds it
      const version = ok(run('node', ['-p', 'process.version']), 'node --version').stdout.trim();
      expect(version).toBe(ok(run(rt.node, ['-p', 'process.version']), 'node --version').stdout.trim());
    });

    it('type-checks with a plain tsconfig, and a mistyped parameter or output does not', () => {
      const tsconfig = JSON.parse(readFileSync(join(app, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
      expect(tsconfig.compilerOptions.allowImportingTsExtensions).toBeUndefined();
      ok(run('npx', ['tsc', '--noEmit']), 'tsc');
      if (!rt.full) return; // the compiler's verdicts do not depend on the Node that runs it
      writeFileSync(join(app, 'wrong.ts'), `import { runPipeline } from '@sluice/runner';
import p from './pipeline.js';
const r = await runPipeline(p, { params: { rows: 'many' } });
if (r.status === 'succeeded') console.log(r.outputs.doesNotExist);
`);
      try {
        const bad = run('npx', ['tsc', '--noEmit']);
        expect(bad.code).not.toBe(0);
        expect(bad.stdout).toMatch(/wrong\.ts\(3,\d+\): error TS23\d\d: .*rows: string/);
        expect(bad.stdout).toMatch(/wrong\.ts\(4,\d+\): error TS2339: Property 'doesNotExist'/);
      } finally {
        rmSync(join(app, 'wrong.ts'));
      }
    }, 180_000);

    it("passes the scaffold's own test", () => {
      const r = ok(run('npm', ['test'], 180_000), 'npm test');
      expect(r.stdout).toMatch(/Tests\s+2 passed/);
    }, 200_000);

    it('runs and compiles with npx sluice', () => {
      const ran = ok(run('npx', ['sluice', 'run', 'pipeline.ts', '--param', 'rows=3']), 'sluice run');
      expect(ran.stdout).toMatch(/run first-pipeline-\S+ succeeded/);
      expect(ran.stdout).toMatch(/count\s+3/);
      const compiled = ok(run('npx', ['sluice', 'compile', 'pipeline.ts', '-o', 'workflow.yaml']), 'sluice compile');
      expect(compiled.stderr).toBe('');
      const yaml = readFileSync(join(app, 'workflow.yaml'), 'utf8');
      expect(yaml).toMatch(/^kind: Workflow$/m);
      expect(yaml).toContain('image: app:0.1.0');
      expect(ok(run('npx', ['sluice', 'runs']), 'sluice runs').stdout).toMatch(/first-pipeline/);
    }, 180_000);

    it('calls the API from a plain .mjs script, without tsx at import time', () => {
      // Importing the packages must not load tsx (only loading a .ts pipeline file does).
      writeFileSync(join(app, 'no-tsx.mjs'), `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent("export async function resolve(s, c, n) { if (s === 'tsx' || s.startsWith('tsx/')) throw new Error('tsx loaded at import'); return n(s, c); }"));
`);
      const imported = ok(run(rt.node, ['--import', './no-tsx.mjs', '--input-type=module', '-e',
        "const m = await Promise.all(['@sluice/sdk', '@sluice/compiler', '@sluice/compiler/source', '@sluice/executor', '@sluice/tracking', '@sluice/runner'].map((x) => import(x))); console.log(m.map((x) => Object.keys(x).length > 0).join())"]), 'import without tsx');
      expect(imported.stdout.trim()).toBe('true,true,true,true,true,true');
      writeFileSync(join(app, 'api.mjs'), `import { openStore, runPipeline } from '@sluice/runner';
import { compile } from '@sluice/compiler';
const r = await runPipeline('pipeline.ts', { entry: 'pipeline.ts', params: { rows: 11 }, storeDir: '.sluice-api' });
const store = openStore('.sluice-api');
const run = store.runs.get(r.runId);
store.close();
console.log(JSON.stringify({ status: r.status, count: r.outputs.count, listed: run.tasks.map((t) => t.key + ':' + t.state), compile: typeof compile, node: process.versions.node }));
`);
      const api = ok(run(rt.node, ['api.mjs']), 'node api.mjs');
      const want = ok(run(rt.node, ['-p', 'process.versions.node']), 'node --version').stdout.trim();
      expect(JSON.parse(api.stdout.trim().split('\n').at(-1)!)).toEqual({ status: 'succeeded', count: 11, listed: expect.arrayContaining(['prepare:succeeded', 'summarize:succeeded']), compile: 'function', node: want });
    }, 180_000);

    it('names the fix when better-sqlite3 has no binding for this Node, or one for another Node', () => {
      const target = join(app, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
      const kept = `${target}.kept`;
      renameSync(target, kept);
      try {
        const none = run('npx', ['sluice', 'runs']);
        expect(none.code).toBe(1);
        expect(none.stderr.trim().split('\n')).toHaveLength(1);
        expect(none.stderr).toMatch(/better-sqlite3 \(the local store\) has no binding built for Node \S+ \(its install script did not run or failed\): run `npm rebuild better-sqlite3`/);
        const other = rt.otherBinding();
        if (other) {
          copyFileSync(other, target);
          const wrong = run('npx', ['sluice', 'runs']);
          expect(wrong.code).toBe(1);
          expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
          expect(wrong.stderr).toMatch(/better-sqlite3 \(the local store\) was built for another Node\.js \(NODE_MODULE_VERSION \d+; this is Node \S+, NODE_MODULE_VERSION \d+\): run `npm rebuild better-sqlite3` with this Node/);
        }
      } finally {
        rmSync(target, { force: true });
        renameSync(kept, target);
      }
      ok(run('npx', ['sluice', 'runs']), 'sluice runs');
    }, 120_000);

    if (!rt.full) return;

    it('writes a project with sluice init, and the pod image gets production dependencies only', () => {
      const init = ok(run('npx', ['sluice', 'init', 'second']), 'sluice init');
      expect(init.stdout).toContain('npm install');
      expect(readdirSync(join(app, 'second')).sort()).toEqual(['.dockerignore', '.gitignore', 'Dockerfile', 'README.md', 'package.json', 'pipeline.ts', 'test', 'tsconfig.json']);
      expect(readFileSync(join(app, 'second', 'package.json'), 'utf8')).toContain('"name": "second"');
      expect(run('npx', ['sluice', 'init', 'second']).code).toBe(2);
      // What `npm ci --omit=dev` puts in the image: the SDK and the executor, no SQLite, no compiler.
      const prod = ok(run('npm', ['ls', '--omit=dev', '--all', '--parseable']), 'npm ls --omit=dev').stdout;
      expect(prod).toMatch(/node_modules\/@sluice\/executor$/m);
      for (const heavy of ['@sluice/runner', '@sluice/compiler', 'ts-morph', 'commander', 'typescript', 'vitest']) expect(prod).not.toMatch(new RegExp(`node_modules/${heavy}$`, 'm'));
      expect(readFileSync(join(app, 'Dockerfile'), 'utf8')).toMatch(/npm ci --omit=dev --ignore-scripts/);
      const ignore = readFileSync(join(app, '.dockerignore'), 'utf8');
      expect(ignore).toMatch(/^node_modules$/m);
      expect(ignore).toMatch(/^\.sluice$/m);
    }, 120_000);

    it('serves the web view from the installed @sluice/ui (its bundle built at pack time)', async () => {
      const ui = join(app, 'node_modules', '@sluice', 'ui');
      expect(existsSync(join(ui, 'dist', 'client', 'app.js'))).toBe(true);
      expect(existsSync(join(ui, 'client'))).toBe(false);
      ok(run('npx', ['sluice', 'run', 'pipeline.ts', '--param', 'rows=2']), 'sluice run');
      const child = spawn('npx', ['sluice', 'ui', '--port', '0'], { cwd: app, env: rt.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      try {
        let out = '';
        const url = await new Promise<string>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`sluice ui printed no URL in 60 s: ${out}`)), 60_000);
          child.stdout.on('data', (b: Buffer) => { out += b; const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out); if (m) { clearTimeout(t); resolve(m[0]); } });
          child.stderr.on('data', (b: Buffer) => { out += b; });
          child.on('exit', (c) => reject(new Error(`sluice ui exited ${c}: ${out}`)));
        });
        const page = await (await fetch(url)).text();
        const script = /src="(\/assets\/app\.js\?v=[\w-]+)"/.exec(page)?.[1];
        expect(script).toBeDefined();
        expect((await fetch(new URL(script as string, url))).status).toBe(200);
        const { runs } = (await (await fetch(new URL('/api/runs', url))).json()) as { runs: { pipeline: string }[] };
        expect(runs.map((r) => r.pipeline)).toContain('first-pipeline');
      } finally {
        if (child.pid) process.kill(-child.pid, 'SIGTERM');
      }
    }, 180_000);

    // @sluice/tracking loads SQLite only for the local store (which the runner, a dev dependency, brings); a pod never does.
    it('keeps better-sqlite3 out of the production dependencies', () => {
      const prod = ok(run('npm', ['ls', '--omit=dev', '--all', '--parseable']), 'npm ls --omit=dev').stdout;
      expect(prod).not.toMatch(/node_modules\/better-sqlite3$/m);
    }, 60_000);
  });
}
