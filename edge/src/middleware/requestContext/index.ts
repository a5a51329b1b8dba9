import type { MiddlewareHandler } from 'hono';
import { authCache } from '../../auth/authCache.ts';
import { openDb } from '../../db.ts';
import type { AppEnv } from '../../env.ts';

const MAX_AGENT_CHARS = 256;

/**
 * Per-request context every later stage relies on: the database handle, the client's address (Cloudflare sets
 * CF-Connecting-IP at its edge; clients cannot forge it there) and user agent, and an empty principal.
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('db', openDb(c.env.DB));
    authCache.configure(c.env as unknown as Record<string, unknown>);
    c.set('ip', c.req.header('cf-connecting-ip') ?? null);
    c.set('userAgent', c.req.header('user-agent')?.slice(0, MAX_AGENT_CHARS) ?? null);
    c.set('principal', null);
    c.set('orgRole', null);
    await next();
  };
}
