import { drizzle } from 'drizzle-orm/d1';
import * as schema from '../../db/d1/schema.ts';
import type { Db } from './env.ts';

export function openDb(d1: D1Database): Db {
  return drizzle(d1, { schema });
}

export { schema };
