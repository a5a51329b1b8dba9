import { z } from '@hono/zod-openapi';
import { Scopes } from '../schemas.ts';

export const TokenView = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(['personal', 'service']),
    userId: z.string().nullable(),
    serviceAccountId: z.string().nullable(),
    displayPrefix: z.string(),
    scopes: z.array(z.string()),
    createdAt: z.number(),
    expiresAt: z.number().nullable(),
    lastUsedAt: z.number().nullable(),
    revokedAt: z.number().nullable(),
  })
  .openapi('ApiToken');

/** The token itself appears only in the answer that creates it. */
export const CreatedToken = TokenView.extend({ token: z.string() });

export const NewTokenBody = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: Scopes,
  /** Omit for a token that never expires; at most ten years. */
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});

export function expiryOf(expiresInDays: number | undefined): number | null {
  return expiresInDays === undefined ? null : Date.now() + expiresInDays * 86_400_000;
}
