import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'examples/*/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    typecheck: { enabled: true, include: ['packages/*/test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    pool: 'forks',
    // the executor's built pipeline modules (@sluice/executor graph-load.ts) load as in a pod, not
    // through vitest's transform: their functions' sources are what component hashes cover
    server: { deps: { external: [/\/load\/[0-9a-f]{32}\//] } },
  },
});
