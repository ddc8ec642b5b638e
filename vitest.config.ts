import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Tests live under test/; src/ holds the product only (eslint refuses vitest imports there).
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites start real servers and child processes; two cores are all CI has.
    maxWorkers: 2,
  },
});
