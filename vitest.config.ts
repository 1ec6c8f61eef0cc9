// Test projects: one per package, plus the cross-package integration suite in test/ against the real broker.
import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through the `eddy-source` export condition.
// No `module`: @opentelemetry/api maps it to an ESM build whose imports lack file extensions, which Node refuses.
const conditions = ['eddy-source', 'node', 'import', 'default'];
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
      unit('cli'),
      unit('avro'),
      {
        resolve,
        ssr,
        // The Kubernetes manifests of the examples, checked offline (schemas cached by examples/k8s/tools/fetch.sh).
        test: { name: 'k8s', root: 'examples/k8s', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
      },
      // The pure pieces of the benchmarks (result checks, parsing); the benchmarks themselves run with pnpm bench:*.
      { resolve, ssr, test: { name: 'benchmarks', root: 'benchmarks', include: ['test/**/*.test.ts'] } },
      // The examples' topologies in the test driver (their runs against the broker are in test/examples/).
      {
        resolve,
        ssr,
        test: {
          name: 'examples',
          root: 'examples',
          include: ['**/*.test.ts'],
          exclude: ['k8s/**', '**/node_modules/**'],
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'integration',
          root: 'test',
          include: ['**/*.test.ts'],
          exclude: ['faults/cluster/**', '**/node_modules/**'],
          globalSetup: ['./support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      // Broker failures on a three-node cluster (test/faults/cluster/), only with EDDY_FAULTS=1: its global setup starts the
      // cluster (test/kafka/cluster.mjs); .ci/run runs it after the rest of the suite.
      ...(process.env.EDDY_FAULTS === '1'
        ? [
            {
              resolve,
              ssr,
              test: {
                name: 'faults',
                root: 'test',
                include: ['faults/cluster/**/*.test.ts'],
                globalSetup: ['./faults/cluster/cluster-setup.ts'],
                setupFiles: ['./faults/cluster/use-cluster.ts'],
                testTimeout: 240_000,
                hookTimeout: 180_000,
                fileParallelism: false,
              },
            },
          ]
        : []),
    ],
  },
});
