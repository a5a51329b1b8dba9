/**
 * API tokens: `ust_pat_<secret>` for personal tokens, `ust_sat_<secret>` for service-account tokens. The
 * recognisable prefix lets secret scanners and users spot them; the secret part is 32 random bytes. Only the
 * SHA-256 is stored; the token is shown once, when created. A use reads D1 at most once per AUTH_CACHE_TTL_MS per
 * isolate (authCache.ts), so revocation takes effect within that bound (at once in the isolate that revoked);
 * expiry is checked on every use; last_used_at is updated on use (at most once a minute).
 */
import { eq } from 'drizzle-orm';
import { randomSecret, sha256Hex } from '../crypto/secrets.ts';
import { schema } from '../db.ts';
import type { Db, Principal } from '../env.ts';
import { TOKEN_SCOPES, type TokenScope } from '../permissions.ts';
import { authCache } from './authCache.ts';

export const TOKEN_PREFIX = { personal: 'ust_pat_', service: 'ust_sat_' } as const;
const DISPLAY_CHARS = 12;
const LAST_USED_EVERY_MS = 60_000;

export type NewToken = {
  orgId: string;
  name: string;
  scopes: TokenScope[];
  expiresAt: number | null;
  createdBy: string;
} & ({ userId: string; serviceAccountId?: never } | { serviceAccountId: string; userId?: never });

export async function createApiToken(db: Db, input: NewToken) {
  const token = (input.userId ? TOKEN_PREFIX.personal : TOKEN_PREFIX.service) + randomSecret();
  const row = {
    id: `tok_${randomSecret(12)}`,
    orgId: input.orgId,
    userId: input.userId ?? null,
    serviceAccountId: input.serviceAccountId ?? null,
    name: input.name,
    displayPrefix: token.slice(0, DISPLAY_CHARS),
    tokenHash: await sha256Hex(token),
    scopes: JSON.stringify(input.scopes),
    createdBy: input.createdBy,
    createdAt: Date.now(),
    expiresAt: input.expiresAt,
    lastUsedAt: null,
    revokedAt: null,
  };
  await db.insert(schema.apiTokens).values(row);
  return { token, row };
}

export function looksLikeApiToken(value: string): boolean {
  return (
    (value.startsWith(TOKEN_PREFIX.personal) || value.startsWith(TOKEN_PREFIX.service)) && value.length < 128
  );
}

export function parseScopes(json: string): TokenScope[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((s): s is TokenScope => TOKEN_SCOPES.includes(s)) : [];
}

/**
 * The principal for a bearer token, or null when it is unknown, revoked or expired. The D1 answer is reused for
 * up to AUTH_CACHE_TTL_MS (authCache.ts: the revocation bound across isolates); the expiry is checked every time.
 */
export async function authenticateApiToken(db: Db, token: string): Promise<Principal | null> {
  if (!looksLikeApiToken(token)) return null;
  const hash = await sha256Hex(token);
  const found = await authCache.get(
    `token:${hash}`,
    () => readApiToken(db, hash),
    (v) => v?.expiresAt ?? null,
  );
  if (!found || (found.expiresAt !== null && found.expiresAt <= Date.now())) return null;
  return found.principal;
}

async function readApiToken(db: Db, hash: string) {
  const row = await db.query.apiTokens.findFirst({ where: eq(schema.apiTokens.tokenHash, hash) });
  const now = Date.now();
  if (!row || row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= now)) return null;
  if (row.lastUsedAt === null || now - row.lastUsedAt > LAST_USED_EVERY_MS) {
    await db.update(schema.apiTokens).set({ lastUsedAt: now }).where(eq(schema.apiTokens.id, row.id));
  }
  const principal: Principal = {
    kind: 'token',
    tokenId: row.id,
    orgId: row.orgId,
    userId: row.userId,
    serviceAccountId: row.serviceAccountId,
    scopes: parseScopes(row.scopes),
  };
  return { principal, expiresAt: row.expiresAt };
}

/** The public view of a token row: never the hash. */
export function tokenView(row: typeof schema.apiTokens.$inferSelect) {
  return {
    id: row.id,
    name: row.name,
    kind: row.userId ? ('personal' as const) : ('service' as const),
    userId: row.userId,
    serviceAccountId: row.serviceAccountId,
    displayPrefix: row.displayPrefix,
    scopes: parseScopes(row.scopes),
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}
