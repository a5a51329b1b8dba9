/**
 * SSO sign-in (public): /api/sso/start finds the organization from the email's verified domain and sends the
 * browser to its OpenID Connect provider; /api/sso/callback finishes the code + PKCE exchange, checks the ID
 * token, provisions the user and membership on first sign-in, and starts a session.
 *
 * The flow's state is bound to the browser by a short-lived `__Host-` cookie and kept server-side (hashed) with
 * the PKCE verifier and nonce; the callback consumes it, so a replayed callback finds nothing.
 */
import { z } from '@hono/zod-openapi';
import { and, eq, isNotNull } from 'drizzle-orm';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { App } from '../app.ts';
import { audit } from '../audit.ts';
import { startSession } from '../auth/sessions.ts';
import { edgeConfig } from '../config.ts';
import { newId, sha256Hex, timingSafeEqualText } from '../crypto/secrets.ts';
import { schema } from '../db.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { defineRoute } from '../routeRegistry.ts';
import { Email, errorResponses } from '../schemas.ts';
import { beginAuthorization, completeAuthorization, discover, type OidcOptions } from '../sso/oidc.ts';

export const SSO_STATE_COOKIE = '__Host-understory_sso';
const STATE_TTL_MS = 10 * 60_000;

const start = defineRoute({
  method: 'get',
  path: '/api/sso/start',
  permission: 'public',
  summary: 'Start SSO for an email address whose domain an organization has verified (302 to the provider)',
  request: { query: z.object({ email: Email }) },
  responses: { 302: { description: 'to the identity provider' }, ...errorResponses },
});

const callback = defineRoute({
  method: 'get',
  path: '/api/sso/callback',
  permission: 'public',
  summary: 'Where the identity provider returns the browser (302 to the UI, signed in)',
  request: {
    query: z.object({ state: z.string().max(200), code: z.string().max(2000).optional() }).passthrough(),
  },
  responses: { 302: { description: 'signed in' }, ...errorResponses },
});

const ssoFailed = (why: string) => new ApiError(401, 'sso_failed', `cannot sign in with SSO: ${why}`);

function options(env: Env): OidcOptions {
  return { allowInsecureHttp: edgeConfig(env).ssoAllowInsecureHttp };
}

function callbackUrl(c: Context<AppEnv>): string {
  return `${edgeConfig(c.env).publicUrl ?? new URL(c.req.url).origin}/api/sso/callback`;
}

async function ssoConfigOf(c: Context<AppEnv>, orgId: string) {
  const config = await c.var.db.query.ssoConfigs.findFirst({ where: eq(schema.ssoConfigs.orgId, orgId) });
  if (!config?.enabled) throw ssoFailed('SSO is not enabled for this organization');
  return config;
}

async function verifiedDomainOrg(c: Context<AppEnv>, email: string): Promise<string | null> {
  const domain = email.slice(email.lastIndexOf('@') + 1);
  const row = await c.var.db.query.ssoDomains.findFirst({
    where: and(eq(schema.ssoDomains.domain, domain), isNotNull(schema.ssoDomains.verifiedAt)),
  });
  return row?.orgId ?? null;
}

export function registerSsoRoutes(app: App) {
  app.openapi(start, async (c) => {
    const { email } = c.req.valid('query');
    const orgId = await verifiedDomainOrg(c, email);
    if (!orgId) throw ssoFailed('no organization uses SSO for this email domain');
    const config = await ssoConfigOf(c, orgId);
    const as = await discover(config.issuer, options(c.env)).catch((err: Error) => {
      throw new ApiError(502, 'upstream_failed', `cannot discover the identity provider: ${err.message}`);
    });
    const pending = await beginAuthorization(as, config, callbackUrl(c), email);
    await c.var.db.insert(schema.ssoStates).values({
      stateHash: await sha256Hex(pending.state),
      orgId,
      codeVerifier: pending.codeVerifier,
      nonce: pending.nonce,
      expiresAt: Date.now() + STATE_TTL_MS,
    });
    // SameSite=Lax: the provider's redirect back is a top-level GET, which Lax cookies accompany.
    setCookie(c, SSO_STATE_COOKIE, pending.state, {
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
      path: '/',
      maxAge: STATE_TTL_MS / 1000,
    });
    return c.redirect(pending.url.toString(), 302);
  });

  app.openapi(callback, async (c) => {
    const { state } = c.req.valid('query');
    const cookieState = getCookie(c, SSO_STATE_COOKIE) ?? '';
    deleteCookie(c, SSO_STATE_COOKIE, { path: '/', secure: true });
    // Consume the state first: whatever happens next, this authorization response cannot be used twice.
    const [pending] = await c.var.db
      .delete(schema.ssoStates)
      .where(eq(schema.ssoStates.stateHash, await sha256Hex(state)))
      .returning();
    const fail = async (why: string, orgId: string | null = null) => {
      await audit(c, { orgId, action: 'sso.login', outcome: 'failure', details: { reason: why } });
      return ssoFailed(why);
    };
    if (!pending || pending.expiresAt <= Date.now()) throw await fail('unknown, used or expired state');
    if (!timingSafeEqualText(cookieState, state))
      throw await fail('state does not belong to this browser', pending.orgId);
    const config = await ssoConfigOf(c, pending.orgId);
    let identity: Awaited<ReturnType<typeof completeAuthorization>>;
    try {
      const as = await discover(config.issuer, options(c.env));
      identity = await completeAuthorization(
        as,
        config,
        new URL(c.req.url),
        { state, nonce: pending.nonce, codeVerifier: pending.codeVerifier, redirectUri: callbackUrl(c) },
        options(c.env),
      );
    } catch (err) {
      throw await fail(`provider answer rejected: ${(err as Error).message}`, pending.orgId);
    }
    if (!identity.emailVerified)
      throw await fail('the provider has not verified the email address', pending.orgId);
    if ((await verifiedDomainOrg(c, identity.email)) !== pending.orgId) {
      throw await fail(
        `email domain of ${identity.email} is not verified for this organization`,
        pending.orgId,
      );
    }
    const userId = await provision(c, identity.email, identity.name, pending.orgId, config.defaultRole);
    await startSession(c, userId, `sso:${pending.orgId}`);
    await audit(c, {
      orgId: pending.orgId,
      actor: `user:${userId}`,
      action: 'sso.login',
      targetType: 'user',
      targetId: userId,
      details: { subject: identity.subject, issuer: config.issuer },
    });
    return c.redirect('/', 302);
  });
}

/** The user for a verified email (created on first sign-in) with a membership in the organization. */
async function provision(
  c: Context<AppEnv>,
  email: string,
  name: string | null,
  orgId: string,
  role: string,
) {
  const db = c.var.db;
  let user = await db.query.users.findFirst({ where: eq(schema.users.email, email) });
  if (!user) {
    user = { id: newId('usr'), email, name: name ?? email, passwordHash: null, createdAt: Date.now() };
    await db.insert(schema.users).values(user);
    await audit(c, {
      orgId,
      actor: `user:${user.id}`,
      action: 'user.provision',
      targetType: 'user',
      targetId: user.id,
    });
  }
  await db
    .insert(schema.memberships)
    .values({ orgId, userId: user.id, role, createdAt: Date.now() })
    .onConflictDoNothing();
  return user.id;
}
