import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    // Building the collector on a cold machine, when Go is there but the binary is not.
    hookTimeout: 900_000,
  },
});
