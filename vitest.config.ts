import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Suites whose outcome does not depend on the Node.js line (PromQL, promtool, the dashboard, the
 * collector binary, the docs, the aggregator's differential test against the SDK, the packed
 * tarballs, the demo end to end): `scripts/node-matrix.sh` runs them on the primary line only
 * (the one marked e2e in scripts/node-versions), and sets OTEL_INFERENCE_TEST_SCOPE=runtime on
 * the others, to keep CI under its time limit. `npm test` alone runs everything.
 */
const LINE_INDEPENDENT = [
  'test/pipeline/**',
  'test/docs/**',
  'test/packaging/install.test.ts',
  'test/demo/demo.test.ts',
  'test/instrumentation/core/aggregator.test.ts',
];
const runtimeOnly = process.env.OTEL_INFERENCE_TEST_SCOPE === 'runtime';

export default defineConfig({
  resolve: {
    // In-process tests use the library's sources, as the typecheck does (tsconfig.json paths);
    // child processes load the built packages through node_modules.
    alias: {
      '@otel-inference/instrumentation': fileURLToPath(new URL('./packages/instrumentation/src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**', ...(runtimeOnly ? LINE_INDEPENDENT : [])],
    pool: 'forks',
    // --expose-gc lets the garbage-collection finalization tests force a collection.
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
