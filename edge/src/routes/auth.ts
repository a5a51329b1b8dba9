/** Accounts: sign-up, sign-in (throttled), sign-out, sign-out everywhere, and the signed-in user's view. */
import { z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import type { App } from '../app.ts';
import { audit } from '../audit.ts';
import { endAllSessions, endSession, startSession } from '../auth/sessions.ts';
import {
  accountKey,
  addressKey,
  clearFailures,
  lockedFor,
  recordFailure,
  THROTTLE,
} from '../auth/throttle.ts';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../crypto/password.ts';
import { newId } from '../crypto/secrets.ts';
import { schema } from '../db.ts';
import { ApiError, conflict, isUniqueViolation } from '../errors.ts';
import { defineRoute } from '../routeRegistry.ts';
import {
  body,
  DisplayName,
  Email,
  ErrorSchema,
  errorResponses,
  json,
  OkSchema,
  Password,
  UserSchema,
} from '../schemas.ts';

const SignedIn = z.object({ user: UserSchema, csrfToken: z.string() });
const Me = SignedIn.extend({
  orgs: z.array(z.object({ id: z.string(), slug: z.string(), name: z.string(), role: z.string() })),
});

const signup = defineRoute({
  method: 'post',
  path: '/api/auth/signup',
  permission: 'public',
  summary: 'Create an account and sign in',
  request: body(z.object({ email: Email, password: Password, name: DisplayName })),
  responses: {
    201: json(SignedIn, 'signed in; session cookie set'),
    409: json(ErrorSchema, 'email taken'),
    ...errorResponses,
  },
});

const login = defineRoute({
  method: 'post',
  path: '/api/auth/login',
  permission: 'public',
  summary: 'Sign in with email and password (throttled per account and per address)',
  request: body(z.object({ email: Email, password: z.string().min(1).max(256) })),
  responses: {
    200: json(SignedIn, 'signed in'),
    429: json(ErrorSchema, 'too many failures'),
    ...errorResponses,
  },
});

const logout = defineRoute({
  method: 'post',
  path: '/api/auth/logout',
  permission: 'account',
  summary: 'End this session',
  responses: { 200: json(OkSchema, 'signed out'), ...errorResponses },
});

const logoutAll = defineRoute({
  method: 'post',
  path: '/api/auth/logout-all',
  permission: 'account',
  summary: 'End every session of the signed-in user (sign out everywhere)',
  responses: { 200: json(z.object({ ended: z.number() }), 'sessions ended'), ...errorResponses },
});

const me = defineRoute({
  method: 'get',
  path: '/api/me',
  permission: 'account',
  summary: 'The signed-in user, their organizations and the CSRF token of this session',
  responses: { 200: json(Me, 'the user'), ...errorResponses },
});

export function registerAuthRoutes(app: App) {
  app.openapi(signup, async (c) => {
    const { email, password, name } = c.req.valid('json');
    const user = {
      id: newId('usr'),
      email,
      name,
      passwordHash: await hashPassword(password),
      createdAt: Date.now(),
    };
    try {
      await c.var.db.insert(schema.users).values(user);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`cannot sign up: an account for ${email} exists`);
      throw err;
    }
    const csrfToken = await startSession(c, user.id, 'password');
    await audit(c, {
      action: 'user.signup',
      actor: `user:${user.id}`,
      targetType: 'user',
      targetId: user.id,
    });
    return c.json({ user: { id: user.id, email, name }, csrfToken }, 201);
  });

  app.openapi(login, async (c) => {
    const { email, password } = c.req.valid('json');
    const keys = [accountKey(email), ...(c.var.ip ? [addressKey(c.var.ip)] : [])];
    const wait = await lockedFor(c.var.db, keys);
    if (wait > 0) {
      await audit(c, { action: 'user.login', outcome: 'failure', details: { email, reason: 'throttled' } });
      const retryAfter = String(Math.ceil(wait / 1000));
      throw new ApiError(429, 'too_many_requests', 'cannot sign in: too many failed attempts, try later', {
        'retry-after': retryAfter,
      });
    }
    const user = await c.var.db.query.users.findFirst({ where: eq(schema.users.email, email) });
    // Always run one PBKDF2 so a missing account and a wrong password cost the same time.
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user?.passwordHash || !ok) {
      await recordFailure(c.var.db, [
        { key: accountKey(email), max: THROTTLE.maxAccountFailures },
        ...(c.var.ip ? [{ key: addressKey(c.var.ip), max: THROTTLE.maxAddressFailures }] : []),
      ]);
      await audit(c, {
        action: 'user.login',
        outcome: 'failure',
        details: { email, reason: 'bad credentials' },
      });
      throw new ApiError(401, 'unauthenticated', 'cannot sign in: wrong email or password');
    }
    await clearFailures(c.var.db, accountKey(email));
    const csrfToken = await startSession(c, user.id, 'password');
    await audit(c, { action: 'user.login', actor: `user:${user.id}`, targetType: 'user', targetId: user.id });
    return c.json({ user: { id: user.id, email: user.email, name: user.name }, csrfToken }, 200);
  });

  app.openapi(logout, async (c) => {
    const principal = c.var.principal;
    if (principal?.kind === 'session') await endSession(c, principal.sessionIdHash);
    await audit(c, { action: 'user.logout' });
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(logoutAll, async (c) => {
    const principal = c.var.principal;
    const ended = principal?.kind === 'session' ? await endAllSessions(c.var.db, principal.userId) : 0;
    await audit(c, { action: 'user.logout_all', details: { ended } });
    return c.json({ ended }, 200);
  });

  app.openapi(me, async (c) => {
    const principal = c.var.principal;
    if (principal?.kind !== 'session') throw new ApiError(401, 'unauthenticated', 'cannot authenticate');
    const user = await c.var.db.query.users.findFirst({ where: eq(schema.users.id, principal.userId) });
    const orgs = await c.var.db
      .select({
        id: schema.orgs.id,
        slug: schema.orgs.slug,
        name: schema.orgs.name,
        role: schema.memberships.role,
      })
      .from(schema.memberships)
      .innerJoin(schema.orgs, eq(schema.orgs.id, schema.memberships.orgId))
      .where(eq(schema.memberships.userId, principal.userId));
    return c.json(
      {
        user: { id: principal.userId, email: principal.email, name: user?.name ?? '' },
        csrfToken: principal.csrfToken,
        orgs,
      },
      200,
    );
  });
}
