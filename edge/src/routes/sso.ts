/**
 * SSO sign-in (public): /api/sso/start finds the organization from the email's verified domain and sends the
 * browser to its OpenID Connect provider; /api/sso/callback finishes the code + PKCE exchange, checks the ID
 * token, provisions the user and membership on first sign-in, and starts a session.
 *
 * The flow's state is bound to the browser by a short-lived `__Host-` cookie and kept server-side (hashed) with
 * the PKCE verifier and nonce; the callback consumes it, so a replayed callback finds nothing.
 *
 * A failed start or callback is answered by who asked: a browser's visit (the provider's redirect back, a link
 * to the start) is sent to the UI's sign-in page with one of `SSO_ERROR_CODES` in `sso_error`, so it never shows
 * the provider's own text; an API client (and the UI's form, which asks the start with fetch first) gets the
 * JSON error (401 `sso_failed` with the reason, 502 when the provider cannot be discovered). Every failed start
 * (`sso.start`) and callback (`sso.login`) is audited with its code and reason.
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
  responses: {
    302: {
      description: 'to the identity provider; a browser that cannot start: to /signin?sso_error=<code>',
    },
    ...errorResponses,
  },
});

const callback = defineRoute({
  method: 'get',
  path: '/api/sso/callback',
  permission: 'public',
  summary: 'Where the identity provider returns the browser (302 to the UI, signed in)',
  request: {
    query: z.object({ state: z.string().max(200), code: z.string().max(2000).optional() }).passthrough(),
  },
  responses: {
    302: {
      description:
        'signed in: to /; a browser whose sign-in failed: to /signin?sso_error=<code> (codes: SSO_ERROR_CODES)',
    },
    ...errorResponses,
  },
});

/**
 * Why a browser's SSO sign-in failed, as the sign-in page is told (`/signin?sso_error=`). A fixed list: the page
 * maps each to its own message (edge/ui/src/pages/ssoErrors.ts) and never shows text from the provider.
 */
export const SSO_ERROR_CODES = [
  /** (start) No organization has verified the email's domain. */
  'unknown_domain',
  /** The provider answered `error=access_denied`: the user cancelled or is not allowed to use the app. */
  'access_denied',
  /** The provider answered with another error. */
  'provider_error',
  /** The provider could not be reached (discovery failed). */
  'provider_unreachable',
  /** The state is unknown, used already or expired: start again. */
  'expired',
  /** The state belongs to another browser (no or another state cookie): start again here. */
  'wrong_browser',
  /** The organization turned SSO off while the user was at the provider. */
  'sso_disabled',
  /** The code exchange or the ID token was refused (audience, signature, nonce, issuer...). */
  'invalid_response',
  /** The provider has not verified the email address. */
  'email_unverified',
  /** The email's domain is not (or no longer) a verified domain of the organization. */
  'domain_not_verified',
] as const;
export type SsoErrorCode = (typeof SSO_ERROR_CODES)[number];

const ssoFailed = (why: string) => new ApiError(401, 'sso_failed', `cannot sign in with SSO: ${why}`);

/**
 * A failed start or callback: `why` goes to the audit log and the API's answer, `code` to a browser, `status` says
 * whose fault it is for API callers (401 `sso_failed`, or 502 `upstream_failed` when the provider let us down).
 */
class SsoFailure extends Error {
  constructor(
    readonly code: SsoErrorCode,
    readonly why: string,
    readonly orgId: string | null = null,
    readonly status: 401 | 502 = 401,
  ) {
    super(why);
  }

  /** What an API caller gets. */
  toApiError(): ApiError {
    return this.status === 502 ? new ApiError(502, 'upstream_failed', this.why) : ssoFailed(this.why);
  }
}

/**
 * Audits a failed step (`sso.start`, `sso.login`) and answers it. The entry carries the organization when one
 * is known, the code the browser is sent with and the reason; never the email typed, the client secret, or
 * text a provider sent to the browser (the callback's `error_description`).
 */
async function failed(c: Context<AppEnv>, action: 'sso.start' | 'sso.login', err: SsoFailure) {
  await audit(c, {
    orgId: err.orgId,
    action,
    outcome: 'failure',
    details: { code: err.code, reason: err.why },
  });
  return refuse(c, err.code, err.toApiError());
}

/**
 * Whether the request is a browser's top-level visit (what the provider's redirect back is), which should end on
 * a page, not on JSON. Browsers send `Sec-Fetch-Dest: document` (older ones only `Accept: text/html...`).
 */
function isPageVisit(c: Context<AppEnv>): boolean {
  return c.req.header('sec-fetch-dest') === 'document' || /\btext\/html\b/.test(c.req.header('accept') ?? '');
}

/** A failure a browser's visit should see on the sign-in page (as `code`); other callers get `err`. */
function refuse(c: Context<AppEnv>, code: SsoErrorCode, err: ApiError) {
  if (isPageVisit(c)) return c.redirect(`/signin?sso_error=${code}`, 302);
  throw err;
}

/** OAuth error codes are printable ASCII (RFC 6749 4.1.2.1); only a short, plain form goes to the audit log. */
function providerErrorCode(raw: string): string {
  return raw.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 64) || 'unnamed';
}

function options(env: Env): OidcOptions {
  return { allowInsecureHttp: edgeConfig(env).ssoAllowInsecureHttp };
}

function callbackUrl(c: Context<AppEnv>): string {
  return `${edgeConfig(c.env).publicUrl ?? new URL(c.req.url).origin}/api/sso/callback`;
}

const SSO_DISABLED = 'SSO is not enabled for this organization';

async function ssoConfigOf(c: Context<AppEnv>, orgId: string) {
  return c.var.db.query.ssoConfigs.findFirst({ where: eq(schema.ssoConfigs.orgId, orgId) });
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
    try {
      return await beginSignIn(c, email);
    } catch (err) {
      if (!(err instanceof SsoFailure)) throw err;
      return failed(c, 'sso.start', err);
    }
  });

  app.openapi(callback, async (c) => {
    const { state } = c.req.valid('query');
    const cookieState = getCookie(c, SSO_STATE_COOKIE) ?? '';
    deleteCookie(c, SSO_STATE_COOKIE, { path: '/', secure: true });
    try {
      await finishSignIn(c, state, cookieState);
      return c.redirect('/', 302);
    } catch (err) {
      if (!(err instanceof SsoFailure)) throw err;
      return failed(c, 'sso.login', err);
    }
  });
}

/** The start's checks, then the redirect to the provider; throws an `SsoFailure` for every way it can fail. */
async function beginSignIn(c: Context<AppEnv>, email: string): Promise<Response> {
  const orgId = await verifiedDomainOrg(c, email);
  if (!orgId) throw new SsoFailure('unknown_domain', 'no organization uses SSO for this email domain');
  const config = await ssoConfigOf(c, orgId);
  if (!config?.enabled) throw new SsoFailure('sso_disabled', SSO_DISABLED, orgId);
  let pending: Awaited<ReturnType<typeof beginAuthorization>>;
  try {
    const as = await discover(config.issuer, options(c.env));
    pending = await beginAuthorization(as, config, callbackUrl(c), email);
  } catch (err) {
    const why = `cannot discover the identity provider: ${(err as Error).message}`;
    throw new SsoFailure('provider_unreachable', why, orgId, 502);
  }
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
}

/** The callback's checks, in order; throws an `SsoFailure` for every way it can fail. */
async function finishSignIn(c: Context<AppEnv>, state: string, cookieState: string): Promise<void> {
  // Consume the state first: whatever happens next, this authorization response cannot be used twice.
  const [pending] = await c.var.db
    .delete(schema.ssoStates)
    .where(eq(schema.ssoStates.stateHash, await sha256Hex(state)))
    .returning();
  if (!pending || pending.expiresAt <= Date.now())
    throw new SsoFailure('expired', 'unknown, used or expired state');
  const orgId = pending.orgId;
  if (!timingSafeEqualText(cookieState, state))
    throw new SsoFailure('wrong_browser', 'state does not belong to this browser', orgId);
  const providerError = c.req.query('error');
  if (providerError !== undefined) {
    const code = providerErrorCode(providerError);
    throw new SsoFailure(
      code === 'access_denied' ? 'access_denied' : 'provider_error',
      `the provider answered ${code}`,
      orgId,
    );
  }
  const config = await ssoConfigOf(c, orgId);
  if (!config?.enabled) throw new SsoFailure('sso_disabled', SSO_DISABLED, orgId);
  const as = await discover(config.issuer, options(c.env)).catch((err: Error) => {
    throw new SsoFailure('provider_unreachable', `cannot discover the provider: ${err.message}`, orgId);
  });
  let identity: Awaited<ReturnType<typeof completeAuthorization>>;
  try {
    identity = await completeAuthorization(
      as,
      config,
      new URL(c.req.url),
      { state, nonce: pending.nonce, codeVerifier: pending.codeVerifier, redirectUri: callbackUrl(c) },
      options(c.env),
    );
  } catch (err) {
    throw new SsoFailure('invalid_response', `provider answer rejected: ${(err as Error).message}`, orgId);
  }
  if (!identity.emailVerified)
    throw new SsoFailure('email_unverified', 'the provider has not verified the email address', orgId);
  if ((await verifiedDomainOrg(c, identity.email)) !== orgId) {
    throw new SsoFailure(
      'domain_not_verified',
      `email domain of ${identity.email} is not verified for this organization`,
      orgId,
    );
  }
  const userId = await provision(c, identity.email, identity.name, orgId, config.defaultRole);
  await startSession(c, userId, `sso:${orgId}`);
  await audit(c, {
    orgId,
    actor: `user:${userId}`,
    action: 'sso.login',
    targetType: 'user',
    targetId: userId,
    details: { subject: identity.subject, issuer: config.issuer },
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
