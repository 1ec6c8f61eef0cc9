// Test projects: one per package, plus the cross-package integration suite in test/ against the real broker.
import { defineConfig } from 'vitest/config';

const resolve = { conditions: ['eddy-source'] };
const unit = (name: string) => ({
  resolve,
  test: { name, root: `packages/${name}`, include: ['test/**/*.test.ts'] },
});

export default defineConfig({
  resolve,
  test: {
    projects: [
      unit('streams'),
      unit('state'),
      unit('assignor'),
      {
        resolve,
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
