/** SSO settings of an organization (admins, browser sessions): the OIDC provider and its verified domains. */
import { z } from '@hono/zod-openapi';
import { and, eq, isNotNull, ne } from 'drizzle-orm';
import type { App } from '../app.ts';
import { audit } from '../audit.ts';
import { edgeConfig } from '../config.ts';
import { randomSecret } from '../crypto/secrets.ts';
import { schema } from '../db.ts';
import type { Db } from '../env.ts';
import { ApiError, conflict, isUniqueViolation, notFound } from '../errors.ts';
import { defineRoute } from '../routeRegistry.ts';
import { body, ErrorSchema, errorResponses, json, OkSchema, OrgParams, Role } from '../schemas.ts';
import { challengeRecord, domainHasChallenge } from '../sso/domainVerification.ts';

const Domain = z
  .string()
  .toLowerCase()
  .max(253)
  .regex(/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a DNS domain name');
const DomainView = z.object({
  domain: z.string(),
  verified: z.boolean(),
  record: z.object({ type: z.literal('TXT'), name: z.string(), value: z.string() }),
});
const SsoView = z
  .object({
    config: z
      .object({
        issuer: z.string(),
        clientId: z.string(),
        hasClientSecret: z.boolean(),
        defaultRole: z.string(),
        enabled: z.boolean(),
      })
      .nullable(),
    domains: z.array(DomainView),
  })
  .openapi('SsoSettings');
const DomainParams = OrgParams.extend({ domain: Domain });
const base = '/api/orgs/{orgId}/sso';

const read = defineRoute({
  method: 'get',
  path: base,
  permission: 'sso:manage',
  summary: 'SSO provider and email domains',
  request: { params: OrgParams },
  responses: { 200: json(SsoView, 'settings'), ...errorResponses },
});

const configure = defineRoute({
  method: 'put',
  path: base,
  permission: 'sso:manage',
  summary:
    'Set the OpenID Connect provider (issuer, client; an omitted client secret keeps the stored one, null removes it) and the role of users provisioned by SSO',
  request: {
    params: OrgParams,
    ...body(
      z.object({
        issuer: z.url().max(500),
        clientId: z.string().min(1).max(200),
        clientSecret: z.string().min(1).max(500).nullable().optional(),
        defaultRole: Role.exclude(['owner']).default('viewer'),
        enabled: z.boolean(),
      }),
    ),
  },
  responses: { 200: json(SsoView, 'saved'), ...errorResponses },
});

const addDomain = defineRoute({
  method: 'post',
  path: `${base}/domains`,
  permission: 'sso:manage',
  summary: 'Claim an email domain; answers the DNS TXT record that proves control of it',
  request: { params: OrgParams, ...body(z.object({ domain: Domain })) },
  responses: {
    201: json(DomainView, 'claimed'),
    409: json(ErrorSchema, 'already claimed'),
    ...errorResponses,
  },
});

const verifyDomain = defineRoute({
  method: 'post',
  path: `${base}/domains/{domain}/verify`,
  permission: 'sso:manage',
  summary: "Check the domain's TXT record and mark it verified",
  request: { params: DomainParams },
  responses: { 200: json(DomainView, 'verified'), 409: json(ErrorSchema, 'not provable'), ...errorResponses },
});

const removeDomain = defineRoute({
  method: 'delete',
  path: `${base}/domains/{domain}`,
  permission: 'sso:manage',
  summary: 'Release an email domain',
  request: { params: DomainParams },
  responses: { 200: json(OkSchema, 'released'), ...errorResponses },
});

type DomainRow = typeof schema.ssoDomains.$inferSelect;
const domainView = (row: DomainRow) => ({
  domain: row.domain,
  verified: row.verifiedAt !== null,
  record: challengeRecord(row.domain, row.verificationToken),
});

async function settings(db: Db, orgId: string) {
  const config = await db.query.ssoConfigs.findFirst({ where: eq(schema.ssoConfigs.orgId, orgId) });
  const domains = await db.query.ssoDomains.findMany({ where: eq(schema.ssoDomains.orgId, orgId) });
  return {
    config: config
      ? {
          issuer: config.issuer,
          clientId: config.clientId,
          hasClientSecret: config.clientSecret !== null,
          defaultRole: config.defaultRole,
          enabled: config.enabled,
        }
      : null,
    domains: domains.map(domainView),
  };
}

async function findDomain(db: Db, orgId: string, domain: string) {
  const row = await db.query.ssoDomains.findFirst({
    where: and(eq(schema.ssoDomains.orgId, orgId), eq(schema.ssoDomains.domain, domain)),
  });
  if (!row) throw notFound('domain');
  return row;
}

export function registerSsoAdminRoutes(app: App) {
  app.openapi(read, async (c) => c.json(await settings(c.var.db, c.req.valid('param').orgId), 200));

  app.openapi(configure, async (c) => {
    const { orgId } = c.req.valid('param');
    const input = c.req.valid('json');
    // The secret is never read back, so a settings form cannot resend it: leaving it out keeps the stored one,
    // null removes it (a public client).
    const stored =
      input.clientSecret === undefined
        ? await c.var.db.query.ssoConfigs.findFirst({ where: eq(schema.ssoConfigs.orgId, orgId) })
        : undefined;
    const row = {
      orgId,
      issuer: input.issuer,
      clientId: input.clientId,
      clientSecret: input.clientSecret === undefined ? (stored?.clientSecret ?? null) : input.clientSecret,
      defaultRole: input.defaultRole,
      enabled: input.enabled,
      updatedAt: Date.now(),
    };
    await c.var.db
      .insert(schema.ssoConfigs)
      .values(row)
      .onConflictDoUpdate({ target: schema.ssoConfigs.orgId, set: row });
    await audit(c, {
      orgId,
      action: 'sso.configure',
      details: {
        issuer: row.issuer,
        clientId: row.clientId,
        enabled: row.enabled,
        defaultRole: row.defaultRole,
      },
    });
    return c.json(await settings(c.var.db, orgId), 200);
  });

  app.openapi(addDomain, async (c) => {
    const { orgId } = c.req.valid('param');
    const { domain } = c.req.valid('json');
    const row = {
      domain,
      orgId,
      verificationToken: randomSecret(18),
      verifiedAt: null,
      createdAt: Date.now(),
    };
    try {
      await c.var.db.insert(schema.ssoDomains).values(row);
    } catch (err) {
      if (isUniqueViolation(err))
        throw conflict(`cannot claim ${domain}: already claimed by this organization`);
      throw err;
    }
    await audit(c, { orgId, action: 'sso.domain_add', targetType: 'domain', targetId: domain });
    return c.json(domainView(row), 201);
  });

  app.openapi(verifyDomain, async (c) => {
    const { orgId, domain } = c.req.valid('param');
    const row = await findDomain(c.var.db, orgId, domain);
    const elsewhere = await c.var.db.query.ssoDomains.findFirst({
      where: and(
        eq(schema.ssoDomains.domain, domain),
        ne(schema.ssoDomains.orgId, orgId),
        isNotNull(schema.ssoDomains.verifiedAt),
      ),
    });
    if (elsewhere) throw conflict(`cannot verify ${domain}: another organization has verified it`);
    let proven: boolean;
    try {
      proven = await domainHasChallenge(edgeConfig(c.env).dnsResolverUrl, domain, row.verificationToken);
    } catch (err) {
      throw new ApiError(502, 'upstream_failed', `cannot verify ${domain}: ${(err as Error).message}`);
    }
    await audit(c, {
      orgId,
      action: 'sso.domain_verify',
      targetType: 'domain',
      targetId: domain,
      outcome: proven ? 'success' : 'failure',
    });
    if (!proven)
      throw conflict(
        `cannot verify ${domain}: TXT record ${challengeRecord(domain, row.verificationToken).name} not found`,
      );
    const verifiedAt = Date.now();
    await c.var.db
      .update(schema.ssoDomains)
      .set({ verifiedAt })
      .where(and(eq(schema.ssoDomains.orgId, orgId), eq(schema.ssoDomains.domain, domain)));
    return c.json(domainView({ ...row, verifiedAt }), 200);
  });

  app.openapi(removeDomain, async (c) => {
    const { orgId, domain } = c.req.valid('param');
    await findDomain(c.var.db, orgId, domain);
    await c.var.db
      .delete(schema.ssoDomains)
      .where(and(eq(schema.ssoDomains.orgId, orgId), eq(schema.ssoDomains.domain, domain)));
    await audit(c, { orgId, action: 'sso.domain_remove', targetType: 'domain', targetId: domain });
    return c.json({ ok: true as const }, 200);
  });
}
