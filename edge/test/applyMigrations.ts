import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

type Migration = Parameters<typeof applyD1Migrations>[1][number];

// Every test file starts from the schema in db/d1/migrations (idempotent: applied ones are skipped).
await applyD1Migrations(env.DB, (env as unknown as { TEST_MIGRATIONS: Migration[] }).TEST_MIGRATIONS);
