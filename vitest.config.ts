import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Protocol tests start real servers; two cores cannot run many files at once.
    maxWorkers: 2,
    pool: 'forks',
  },
});
