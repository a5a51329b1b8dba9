/**
 * Browser sessions. The session id is 32 random bytes that live only in the user's cookie; D1 stores its
 * SHA-256, so a leaked database cannot be replayed as cookies. A session ends at its absolute expiry, after an
 * idle timeout, on sign-out, or when the user signs out everywhere (all rows deleted). D1 is read at most once
 * per AUTH_CACHE_TTL_MS per isolate (authCache.ts): a sign-out takes effect at once in the isolate that handled
 * it and within that bound elsewhere.
 */
import { and, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { randomSecret, sha256Hex } from '../crypto/secrets.ts';
import { schema } from '../db.ts';
import type { AppEnv, Db } from '../env.ts';
import { authCache } from './authCache.ts';

/** `__Host-` makes browsers insist on Secure, Path=/ and no Domain, so sibling subdomains cannot set it. */
export const SESSION_COOKIE = '__Host-understory_session';
/** last_seen_at is written at most this often, to keep one D1 write off most requests. */
const TOUCH_EVERY_MS = 60_000;

export type SessionLimits = { maxAgeMs: number; idleMs: number };

export function sessionLimits(env: Env): SessionLimits {
  const hours = Number(env.SESSION_MAX_AGE_HOURS);
  const idleMinutes = Number(env.SESSION_IDLE_MINUTES);
  return {
    maxAgeMs: (Number.isFinite(hours) && hours > 0 ? hours : 168) * 3_600_000,
    idleMs: (Number.isFinite(idleMinutes) && idleMinutes > 0 ? idleMinutes : 720) * 60_000,
  };
}

/** Creates a session for `userId`, sets the cookie, and returns the CSRF token the client must echo. */
export async function startSession(c: Context<AppEnv>, userId: string, method: string): Promise<string> {
  const id = randomSecret();
  const csrfToken = randomSecret();
  const now = Date.now();
  const limits = sessionLimits(c.env);
  await c.var.db.insert(schema.sessions).values({
    idHash: await sha256Hex(id),
    userId,
    csrfToken,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + limits.maxAgeMs,
    ip: c.var.ip,
    userAgent: c.var.userAgent,
    method,
  });
  setCookie(c, SESSION_COOKIE, id, {
    httpOnly: true,
    secure: true,
    sameSite: 'Lax',
    path: '/',
    maxAge: Math.floor(limits.maxAgeMs / 1000),
  });
  return csrfToken;
}

export type ActiveSession = { idHash: string; userId: string; email: string; csrfToken: string };

/**
 * The live session named by the request's cookie, or null; expired and idle sessions are deleted. The D1 answer
 * is reused for up to AUTH_CACHE_TTL_MS (authCache.ts); the absolute expiry is checked on every request.
 */
export async function readSession(c: Context<AppEnv>): Promise<ActiveSession | null> {
  const id = getCookie(c, SESSION_COOKIE);
  if (!id || id.length > 128) return null;
  const idHash = await sha256Hex(id);
  const found = await authCache.get(
    `session:${idHash}`,
    () => loadSession(c, idHash),
    (v) => v?.expiresAt ?? null,
  );
  if (!found || found.expiresAt <= Date.now()) return null;
  return found.session;
}

async function loadSession(c: Context<AppEnv>, idHash: string) {
  const rows = await c.var.db
    .select({ session: schema.sessions, email: schema.users.email })
    .from(schema.sessions)
    .innerJoin(schema.users, eq(schema.users.id, schema.sessions.userId))
    .where(eq(schema.sessions.idHash, idHash))
    .limit(1);
  const row = rows[0];
  if (!row) return null;
  const now = Date.now();
  const { idleMs } = sessionLimits(c.env);
  if (row.session.expiresAt <= now || row.session.lastSeenAt + idleMs <= now) {
    await c.var.db.delete(schema.sessions).where(eq(schema.sessions.idHash, idHash));
    return null;
  }
  if (now - row.session.lastSeenAt > TOUCH_EVERY_MS) {
    await c.var.db.update(schema.sessions).set({ lastSeenAt: now }).where(eq(schema.sessions.idHash, idHash));
  }
  const session: ActiveSession = {
    idHash,
    userId: row.session.userId,
    email: row.email,
    csrfToken: row.session.csrfToken,
  };
  return { session, expiresAt: row.session.expiresAt };
}

export async function endSession(c: Context<AppEnv>, idHash: string): Promise<void> {
  await c.var.db.delete(schema.sessions).where(eq(schema.sessions.idHash, idHash));
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true });
}

/** Sign out everywhere: every session of the user, this one included. Returns how many ended. */
export async function endAllSessions(db: Db, userId: string): Promise<number> {
  const gone = await db
    .delete(schema.sessions)
    .where(and(eq(schema.sessions.userId, userId)))
    .returning({ idHash: schema.sessions.idHash });
  return gone.length;
}
