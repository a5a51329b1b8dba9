import { defineConfig } from 'drizzle-kit';

// Generates numbered SQL migrations for D1 from the schema: `npx drizzle-kit generate --config db/d1/drizzle.config.ts`.
// wrangler and the edge tests apply them from db/d1/migrations.
export default defineConfig({
  dialect: 'sqlite',
  schema: './db/d1/schema.ts',
  out: './db/d1/migrations',
});
