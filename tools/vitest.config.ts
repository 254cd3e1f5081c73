// The oracle suites: `pnpm test:oracles`. Kept apart from the default `pnpm test` because they
// need Go-built binaries (bash tools/setup.sh); without them every suite here skips with a reason.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['tools/test/**/*.test.ts'],
    // One API server per run (skipped without Go, the binaries or ../shared/argo).
    globalSetup: ['tools/test/support/kube/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
