import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

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
    exclude: ['test/e2e/**', 'node_modules/**'],
    pool: 'forks',
    // --expose-gc lets the garbage-collection finalization tests force a collection.
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
