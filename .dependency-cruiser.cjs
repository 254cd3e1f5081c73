/**
 * The dependency directions Sluice keeps (checked by packages/executor/test/dependencies.test.ts,
 * which runs in `bash scripts/test.sh`):
 * - the executor is the pod side: it imports the SDK, zod, tsx, esbuild (its pipeline loader) and Node, never the local runner, the
 *   compiler, SQLite, ts-morph or the CLI library;
 * - the SDK imports only zod, graphlib and Node: it is what every other package builds on.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'executor-is-pod-side',
      severity: 'error',
      comment: 'packages/executor runs in Argo pods: it must not reach the local runner, the compiler or their dependencies',
      from: { path: '^packages/executor/' },
      to: { path: ['^packages/(runner|compiler)/', 'node_modules/(better-sqlite3|ts-morph|commander|@sluice/(runner|compiler))/', '(^|/)node_modules/\\.pnpm/(better-sqlite3|ts-morph|commander)@'] },
    },
    {
      name: 'executor-only-sdk-zod-tsx',
      severity: 'error',
      comment: 'packages/executor depends on the SDK, zod, tsx, esbuild and cjs-module-lexer (the pipeline loader) and Node built-ins only',
      from: { path: '^packages/executor/src/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'], pathNot: ['node_modules/(\\.pnpm/)?(zod|tsx|esbuild|cjs-module-lexer)[@/]', 'node_modules/@sluice/sdk/'] },
    },
    {
      name: 'sdk-is-the-base',
      severity: 'error',
      comment: 'packages/sdk imports only zod, @dagrejs/graphlib and Node built-ins',
      from: { path: '^packages/sdk/src/' },
      to: { pathNot: ['^packages/sdk/src/', 'node_modules/(\\.pnpm/)?(zod|@dagrejs[+/]graphlib)[@/]'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'an import that does not resolve is a broken build',
      from: { path: '^packages/(executor|sdk)/src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
