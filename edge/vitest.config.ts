import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

// Edge tests run inside workerd (the real Workers runtime) with local D1 and Durable Objects.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(new URL('../db/d1/migrations', import.meta.url).pathname);
  return {
    plugins: [
      cloudflareTest({
        main: './src/index.ts',
        wrangler: { configPath: '../wrangler.toml' },
        miniflare: { bindings: { TEST_MIGRATIONS: migrations } },
      }),
    ],
    test: {
      name: 'edge',
      root: new URL('.', import.meta.url).pathname,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      setupFiles: ['./test/applyMigrations.ts'],
      sequence: { groupOrder: 0 },
    },
  };
});
