/** The audit log of an organization, newest first, paged by id, filterable by action, actor and outcome; admins only. */
import { z } from '@hono/zod-openapi';
import { and, desc, eq, like, lt, or } from 'drizzle-orm';
import type { App } from '../app.ts';
import { schema } from '../db.ts';
import { defineRoute } from '../routeRegistry.ts';
import { errorResponses, json, OrgParams } from '../schemas.ts';

const Entry = z
  .object({
    id: z.number(),
    actor: z.string(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    outcome: z.string(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    createdAt: z.number(),
  })
  .openapi('AuditEntry');

const list = defineRoute({
  method: 'get',
  path: '/api/orgs/{orgId}/audit',
  permission: 'audit:read',
  summary: 'Security-relevant actions in the organization: who, what, when, from where',
  request: {
    params: OrgParams,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(500).default(100),
      /** Entries with an id below this (the previous page's last id). */
      before: z.coerce.number().int().min(1).optional(),
      /** An action (`token.revoke`) or an area (`token`: every `token.*` action). */
      action: z
        .string()
        .regex(/^[a-z_]+(\.[a-z_]+)?$/, 'an action such as token.revoke, or an area such as token')
        .optional(),
      /** `user:<id>` or `token:<id>`. */
      actor: z.string().min(1).max(100).optional(),
      outcome: z.enum(['success', 'failure']).optional(),
    }),
  },
  responses: { 200: json(z.object({ entries: z.array(Entry) }), 'entries'), ...errorResponses },
});

export function registerAuditRoutes(app: App) {
  app.openapi(list, async (c) => {
    const { orgId } = c.req.valid('param');
    const { limit, before, action, actor, outcome } = c.req.valid('query');
    const log = schema.auditLog;
    // The action pattern allows only [a-z_.], so the LIKE prefix has no wildcard of the caller's in it.
    const byAction = action?.includes('.')
      ? eq(log.action, action)
      : action
        ? or(eq(log.action, action), like(log.action, `${action}.%`))
        : undefined;
    const rows = await c.var.db
      .select()
      .from(log)
      .where(
        and(
          eq(log.orgId, orgId),
          before ? lt(log.id, before) : undefined,
          byAction,
          actor ? eq(log.actor, actor) : undefined,
          outcome ? eq(log.outcome, outcome) : undefined,
        ),
      )
      .orderBy(desc(log.id))
      .limit(limit);
    const entries = rows.map(({ orgId: _org, details, ...rest }) => ({
      ...rest,
      details: JSON.parse(details),
    }));
    return c.json({ entries }, 200);
  });
}
