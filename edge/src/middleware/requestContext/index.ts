import type { MiddlewareHandler } from 'hono';
import { authCache } from '../../auth/authCache.ts';
import { openDb } from '../../db.ts';
import type { AppEnv, Db } from '../../env.ts';

const MAX_AGENT_CHARS = 256;

/**
 * One drizzle instance per D1 binding: building it walks the whole schema (~0.25 ms of CPU, measured), too much
 * to repeat on every request. It keeps no per-request state (only the binding), so it is shared.
 */
const dbs = new WeakMap<D1Database, Db>();

function dbFor(d1: D1Database): Db {
  let db = dbs.get(d1);
  if (!db) {
    db = openDb(d1);
    dbs.set(d1, db);
  }
  return db;
}

/**
 * Per-request context every later stage relies on: the database handle, the client's address (Cloudflare sets
 * CF-Connecting-IP at its edge; clients cannot forge it there) and user agent, and an empty principal.
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('db', dbFor(c.env.DB));
    authCache.configure(c.env as unknown as Record<string, unknown>);
    c.set('ip', c.req.header('cf-connecting-ip') ?? null);
    c.set('userAgent', c.req.header('user-agent')?.slice(0, MAX_AGENT_CHARS) ?? null);
    c.set('principal', null);
    c.set('orgRole', null);
    await next();
  };
}
