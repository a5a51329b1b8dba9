/**
 * Invitations: an admin invites an email address with a role and gets a one-time token (shown once, stored
 * hashed) to pass on; the invited user accepts it while signed in with that same email address.
 */
import { z } from '@hono/zod-openapi';
import { and, eq, isNull } from 'drizzle-orm';
import type { App } from '../app.ts';
import { audit } from '../audit.ts';
import { newId, randomSecret, sha256Hex } from '../crypto/secrets.ts';
import { schema } from '../db.ts';
import { sessionPrincipal } from '../env.ts';
import { conflict, forbidden, isUniqueViolation, notFound } from '../errors.ts';
import { defineRoute } from '../routeRegistry.ts';
import { body, Email, ErrorSchema, errorResponses, Id, json, OkSchema, OrgParams, Role } from '../schemas.ts';

export const INVITATION_PREFIX = 'ust_inv_';
const INVITATION_TTL_MS = 7 * 24 * 3_600_000;

const Invitation = z
  .object({
    id: z.string(),
    email: z.string(),
    role: z.string(),
    createdAt: z.number(),
    expiresAt: z.number(),
    acceptedAt: z.number().nullable(),
  })
  .openapi('Invitation');

const list = defineRoute({
  method: 'get',
  path: '/api/orgs/{orgId}/invitations',
  permission: 'members:manage',
  summary: 'Open and accepted invitations',
  request: { params: OrgParams },
  responses: { 200: json(z.object({ invitations: z.array(Invitation) }), 'invitations'), ...errorResponses },
});

const create = defineRoute({
  method: 'post',
  path: '/api/orgs/{orgId}/invitations',
  permission: 'members:manage',
  summary: 'Invite an email address; the token is shown only in this answer',
  request: { params: OrgParams, ...body(z.object({ email: Email, role: Role })) },
  responses: { 201: json(Invitation.extend({ token: z.string() }), 'invited'), ...errorResponses },
});

const revoke = defineRoute({
  method: 'delete',
  path: '/api/orgs/{orgId}/invitations/{invitationId}',
  permission: 'members:manage',
  summary: 'Withdraw an invitation',
  request: { params: OrgParams.extend({ invitationId: Id }) },
  responses: { 200: json(OkSchema, 'withdrawn'), ...errorResponses },
});

const accept = defineRoute({
  method: 'post',
  path: '/api/invitations/accept',
  permission: 'account',
  summary: 'Accept an invitation addressed to the signed-in email address',
  request: body(z.object({ token: z.string().startsWith(INVITATION_PREFIX).max(128) })),
  responses: {
    200: json(z.object({ orgId: z.string(), role: z.string() }), 'joined'),
    409: json(ErrorSchema, 'already a member'),
    ...errorResponses,
  },
});

function view(row: typeof schema.invitations.$inferSelect) {
  const { id, email, role, createdAt, expiresAt, acceptedAt } = row;
  return { id, email, role, createdAt, expiresAt, acceptedAt };
}

export function registerInvitationRoutes(app: App) {
  app.openapi(list, async (c) => {
    const { orgId } = c.req.valid('param');
    const rows = await c.var.db.query.invitations.findMany({ where: eq(schema.invitations.orgId, orgId) });
    return c.json({ invitations: rows.map(view) }, 200);
  });

  app.openapi(create, async (c) => {
    const { orgId } = c.req.valid('param');
    const { email, role } = c.req.valid('json');
    if (role === 'owner' && c.var.orgRole !== 'owner') throw forbidden('only an owner can invite an owner');
    const token = INVITATION_PREFIX + randomSecret();
    const now = Date.now();
    const row = {
      id: newId('inv'),
      orgId,
      email,
      role,
      tokenHash: await sha256Hex(token),
      invitedBy: c.var.principal?.kind === 'session' ? c.var.principal.userId : 'token',
      createdAt: now,
      expiresAt: now + INVITATION_TTL_MS,
      acceptedAt: null,
    };
    await c.var.db.insert(schema.invitations).values(row);
    await audit(c, {
      orgId,
      action: 'invitation.create',
      targetType: 'invitation',
      targetId: row.id,
      details: { email, role },
    });
    return c.json({ ...view(row), token }, 201);
  });

  app.openapi(revoke, async (c) => {
    const { orgId, invitationId } = c.req.valid('param');
    const gone = await c.var.db
      .delete(schema.invitations)
      .where(and(eq(schema.invitations.id, invitationId), eq(schema.invitations.orgId, orgId)))
      .returning({ id: schema.invitations.id });
    if (gone.length === 0) throw notFound('invitation');
    await audit(c, { orgId, action: 'invitation.revoke', targetType: 'invitation', targetId: invitationId });
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(accept, async (c) => {
    const { userId, email } = sessionPrincipal(c.var.principal);
    const { token } = c.req.valid('json');
    const inv = await c.var.db.query.invitations.findFirst({
      where: and(
        eq(schema.invitations.tokenHash, await sha256Hex(token)),
        isNull(schema.invitations.acceptedAt),
      ),
    });
    // One answer for unknown, used, expired and someone else's invitation: the token proves nothing more.
    if (!inv || inv.expiresAt <= Date.now() || inv.email !== email) throw notFound('invitation');
    try {
      await c.var.db.batch([
        c.var.db
          .insert(schema.memberships)
          .values({ orgId: inv.orgId, userId, role: inv.role, createdAt: Date.now() }),
        c.var.db
          .update(schema.invitations)
          .set({ acceptedAt: Date.now() })
          .where(eq(schema.invitations.id, inv.id)),
      ]);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('cannot accept invitation: already a member');
      throw err;
    }
    await audit(c, {
      orgId: inv.orgId,
      action: 'invitation.accept',
      targetType: 'invitation',
      targetId: inv.id,
    });
    return c.json({ orgId: inv.orgId, role: inv.role }, 200);
  });
}
