import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

// Edge tests run inside workerd (the real Workers runtime) with local D1 and Durable Objects.
// A Node-side global setup starts a real OpenID Connect provider for the SSO tests (test/oidcProvider.globalSetup.ts).
export default defineConfig(async () => {
  const migrations = await readD1Migrations(new URL('../db/d1/migrations', import.meta.url).pathname);
  return {
    plugins: [
      cloudflareTest({
        main: './src/index.ts',
        wrangler: { configPath: '../wrangler.toml' },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            // The local provider speaks plain http on 127.0.0.1; production keeps this "false".
            SSO_ALLOW_INSECURE_HTTP: 'true',
          },
        },
      }),
    ],
    test: {
      name: 'edge',
      root: new URL('.', import.meta.url).pathname,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      setupFiles: ['./test/applyMigrations.ts'],
      globalSetup: ['./test/oidcProvider.globalSetup.ts'],
      // Each file gets its own workerd isolate; two at a time halves the wall time on this 2-core machine.
      maxWorkers: 2,
      // Every request runs real PBKDF2 and D1: generous per-test limits for a loaded machine.
      testTimeout: 30_000,
      sequence: { groupOrder: 0 },
    },
  };
});
