/**
 * Sign-in throttling, per account and per client address, in D1 (one row per key, fixed windows). After
 * MAX failures inside WINDOW the key is locked for LOCK; a success clears the account's counter (not the
 * address's, so one good account cannot launder an address that is guessing others).
 */
import { eq, sql } from 'drizzle-orm';
import { schema } from '../db.ts';
import type { Db } from '../env.ts';

export const THROTTLE = {
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
  maxAccountFailures: 5,
  maxAddressFailures: 20,
} as const;

export const accountKey = (email: string) => `account:${email}`;
export const addressKey = (ip: string) => `ip:${ip}`;

/** Milliseconds until the first locked key unlocks, or 0 when none is locked. */
export async function lockedFor(db: Db, keys: string[]): Promise<number> {
  const now = Date.now();
  let wait = 0;
  for (const key of keys) {
    const row = await db.query.loginThrottle.findFirst({ where: eq(schema.loginThrottle.key, key) });
    if (row && row.lockedUntil > now) wait = Math.max(wait, row.lockedUntil - now);
  }
  return wait;
}

/** Counts one failure against each key (atomically in SQL) and locks keys that reach their limit. */
export async function recordFailure(db: Db, keys: { key: string; max: number }[]): Promise<void> {
  const now = Date.now();
  for (const { key, max } of keys) {
    await db
      .insert(schema.loginThrottle)
      .values({ key, failures: 1, windowStart: now, lockedUntil: 0 })
      .onConflictDoUpdate({
        target: schema.loginThrottle.key,
        set: {
          failures: sql`CASE WHEN ${schema.loginThrottle.windowStart} + ${THROTTLE.windowMs} <= ${now} THEN 1 ELSE ${schema.loginThrottle.failures} + 1 END`,
          windowStart: sql`CASE WHEN ${schema.loginThrottle.windowStart} + ${THROTTLE.windowMs} <= ${now} THEN ${now} ELSE ${schema.loginThrottle.windowStart} END`,
        },
      });
    await db
      .update(schema.loginThrottle)
      .set({ lockedUntil: now + THROTTLE.lockMs, failures: 0, windowStart: now })
      .where(sql`${schema.loginThrottle.key} = ${key} AND ${schema.loginThrottle.failures} >= ${max}`);
  }
}

export async function clearFailures(db: Db, key: string): Promise<void> {
  await db.delete(schema.loginThrottle).where(eq(schema.loginThrottle.key, key));
}
