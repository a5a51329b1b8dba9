/**
 * Clusters: register (editor), list and read (viewer), rotate the install token (editor), delete (admin).
 * Registration and rotation answer with the install token (shown once) and the commands that connect the
 * cluster; status and last-seen are written by the tunnel.
 */
import { z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import type { App } from '../app.ts';
import { audit } from '../audit.ts';
import { connectCommands } from '../clusters/connectCommands.ts';
import { newInstallToken } from '../clusters/installToken.ts';
import { edgeConfig } from '../config.ts';
import { newId } from '../crypto/secrets.ts';
import { schema } from '../db.ts';
import { type AppEnv, actorOf } from '../env.ts';
import { conflict, isUniqueViolation, notFound } from '../errors.ts';
import { defineRoute } from '../routeRegistry.ts';
import { body, ErrorSchema, errorResponses, Id, json, OkSchema, OrgParams, Slug } from '../schemas.ts';
import { tellTunnelTokenChanged } from '../tunnel/clusterQuery.ts';

const Cluster = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.enum(['pending', 'connected', 'disconnected']),
    lastSeenAt: z.number().nullable(),
    installTokenPrefix: z.string(),
    installTokenIssuedAt: z.number(),
    createdAt: z.number(),
  })
  .openapi('Cluster');
const WithToken = Cluster.extend({
  installToken: z.string(),
  commands: z.object({ helm: z.string(), local: z.string() }),
});
const ClusterParams = OrgParams.extend({ clusterId: Id });
const base = '/api/orgs/{orgId}/clusters';

const list = defineRoute({
  method: 'get',
  path: base,
  permission: 'clusters:read',
  summary: 'Clusters of the organization with connection status',
  request: { params: OrgParams },
  responses: { 200: json(z.object({ clusters: z.array(Cluster) }), 'clusters'), ...errorResponses },
});

const register = defineRoute({
  method: 'post',
  path: base,
  permission: 'clusters:write',
  summary: 'Register a cluster; answers its install token (once) and the connect commands',
  request: { params: OrgParams, ...body(z.object({ name: Slug })) },
  responses: { 201: json(WithToken, 'registered'), 409: json(ErrorSchema, 'name taken'), ...errorResponses },
});

const read = defineRoute({
  method: 'get',
  path: `${base}/{clusterId}`,
  permission: 'clusters:read',
  summary: 'One cluster',
  request: { params: ClusterParams },
  responses: { 200: json(Cluster, 'the cluster'), ...errorResponses },
});

const rotate = defineRoute({
  method: 'post',
  path: `${base}/{clusterId}/install-token`,
  permission: 'clusters:write',
  summary: 'Issue a new install token; the old one stops working at once',
  request: { params: ClusterParams },
  responses: { 200: json(WithToken, 'rotated'), ...errorResponses },
});

const remove = defineRoute({
  method: 'delete',
  path: `${base}/{clusterId}`,
  permission: 'clusters:delete',
  summary: 'Delete a cluster; its install token stops working',
  request: { params: ClusterParams },
  responses: { 200: json(OkSchema, 'deleted'), ...errorResponses },
});

type ClusterRow = typeof schema.clusters.$inferSelect;
function view(row: ClusterRow): z.infer<typeof Cluster> {
  const status = row.status === 'connected' || row.status === 'disconnected' ? row.status : 'pending';
  const { id, name, lastSeenAt, installTokenPrefix, installTokenIssuedAt, createdAt } = row;
  return { id, name, status, lastSeenAt, installTokenPrefix, installTokenIssuedAt, createdAt };
}

/** The URL portals dial: the configured public URL, else the origin this request came to. */
function edgeUrlOf(c: Context<AppEnv>): string {
  return edgeConfig(c.env).publicUrl ?? new URL(c.req.url).origin;
}

export function registerClusterRoutes(app: App) {
  app.openapi(list, async (c) => {
    const { orgId } = c.req.valid('param');
    const rows = await c.var.db.query.clusters.findMany({ where: eq(schema.clusters.orgId, orgId) });
    return c.json({ clusters: rows.map(view) }, 200);
  });

  app.openapi(register, async (c) => {
    const { orgId } = c.req.valid('param');
    const { name } = c.req.valid('json');
    const install = await newInstallToken();
    const row: ClusterRow = {
      id: newId('clu'),
      orgId,
      name,
      installTokenHash: install.hash,
      installTokenPrefix: install.displayPrefix,
      installTokenIssuedAt: install.issuedAt,
      status: 'pending',
      lastSeenAt: null,
      createdBy: actorOf(c.var.principal),
      createdAt: Date.now(),
    };
    try {
      await c.var.db.insert(schema.clusters).values(row);
    } catch (err) {
      if (isUniqueViolation(err))
        throw conflict(`cannot register cluster: ${name} exists in this organization`);
      throw err;
    }
    await audit(c, {
      orgId,
      action: 'cluster.register',
      targetType: 'cluster',
      targetId: row.id,
      details: { name },
    });
    const commands = connectCommands({
      edgeUrl: edgeUrlOf(c),
      installToken: install.token,
      clusterName: name,
    });
    return c.json({ ...view(row), installToken: install.token, commands }, 201);
  });

  app.openapi(read, async (c) => {
    const { orgId, clusterId } = c.req.valid('param');
    const row = await c.var.db.query.clusters.findFirst({
      where: and(eq(schema.clusters.id, clusterId), eq(schema.clusters.orgId, orgId)),
    });
    if (!row) throw notFound('cluster');
    return c.json(view(row), 200);
  });

  app.openapi(rotate, async (c) => {
    const { orgId, clusterId } = c.req.valid('param');
    const install = await newInstallToken();
    const [row] = await c.var.db
      .update(schema.clusters)
      .set({
        installTokenHash: install.hash,
        installTokenPrefix: install.displayPrefix,
        installTokenIssuedAt: install.issuedAt,
      })
      .where(and(eq(schema.clusters.id, clusterId), eq(schema.clusters.orgId, orgId)))
      .returning();
    if (!row) throw notFound('cluster');
    await tellTunnelTokenChanged(c.env, clusterId, install.hash);
    await audit(c, {
      orgId,
      action: 'cluster.rotate_install_token',
      targetType: 'cluster',
      targetId: clusterId,
    });
    const commands = connectCommands({
      edgeUrl: edgeUrlOf(c),
      installToken: install.token,
      clusterName: row.name,
    });
    return c.json({ ...view(row), installToken: install.token, commands }, 200);
  });

  app.openapi(remove, async (c) => {
    const { orgId, clusterId } = c.req.valid('param');
    const gone = await c.var.db
      .delete(schema.clusters)
      .where(and(eq(schema.clusters.id, clusterId), eq(schema.clusters.orgId, orgId)))
      .returning({ id: schema.clusters.id, name: schema.clusters.name });
    if (gone.length === 0) throw notFound('cluster');
    await tellTunnelTokenChanged(c.env, clusterId, null);
    await audit(c, {
      orgId,
      action: 'cluster.delete',
      targetType: 'cluster',
      targetId: clusterId,
      details: { name: gone[0]?.name },
    });
    return c.json({ ok: true as const }, 200);
  });
}
