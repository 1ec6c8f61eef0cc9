// Test projects: one per package, plus the cross-package integration suite in test/ against the real broker.
import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through the `eddy-source` export condition.
const conditions = ['eddy-source', 'node', 'import', 'module', 'default'];
const resolve = { conditions };
const ssr = { resolve: { conditions, externalConditions: conditions } };
const unit = (name: string) => ({
  resolve,
  ssr,
  test: { name, root: `packages/${name}`, include: ['test/**/*.test.ts'] },
});

export default defineConfig({
  resolve,
  ssr,
  test: {
    projects: [
      unit('streams'),
      unit('state'),
      unit('assignor'),
      unit('test-utils'),
      {
        resolve,
        ssr,
        test: {
          name: 'integration',
          root: 'test',
          include: ['**/*.test.ts'],
          globalSetup: ['./support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
