import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native work is CPU-bound on a 2-core machine: run files one at a time so timings and
    // thread pools do not fight each other.
    fileParallelism: false,
  },
});
