import { defineConfig } from 'vitest/config';

// One test command, two runtimes: Node-side suites and the edge worker inside workerd.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['{cli,lib,sensor,incloud,db,bench,scripts,infra}/**/*.test.ts', 'edge/ui/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'edge/src/**', 'edge/test/**'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Tests start real servers and the eBPF sensor: keep parallelism at the machine's size.
          pool: 'forks',
          maxWorkers: 2,
          // Projects with different pools run as separate groups: the quick edge group first.
          sequence: { groupOrder: 1 },
        },
      },
      './edge/vitest.config.ts',
    ],
  },
});
