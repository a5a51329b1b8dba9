import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv, Principal } from '../../env.ts';
import { ApiError } from '../../errors.ts';
import { CSRF_HEADER, csrf } from './index.ts';

function appWith(principal: Principal | null) {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set('principal', principal);
    await next();
  });
  app.use(csrf());
  app.all('/', (c) => c.text('ok'));
  app.onError((err, c) =>
    c.text(err instanceof ApiError ? err.code : 'internal', err instanceof ApiError ? err.status : 500),
  );
  return app;
}

const session: Principal = {
  kind: 'session',
  userId: 'u',
  email: 'e',
  sessionIdHash: 'h',
  csrfToken: 'the-token',
};
const token: Principal = {
  kind: 'token',
  tokenId: 't',
  orgId: 'o',
  userId: null,
  serviceAccountId: 's',
  scopes: ['admin'],
};

describe('csrf', () => {
  it.each([
    ['GET without token passes', session, 'GET', {}, 200],
    ['POST by a session without the header is refused', session, 'POST', {}, 403],
    ['POST by a session with a wrong header is refused', session, 'POST', { [CSRF_HEADER]: 'nope' }, 403],
    ['POST by a session with its token passes', session, 'POST', { [CSRF_HEADER]: 'the-token' }, 200],
    ['DELETE by an API token needs no CSRF token', token, 'DELETE', {}, 200],
    [
      'POST from another origin is refused even with a token',
      session,
      'POST',
      { [CSRF_HEADER]: 'the-token', origin: 'https://evil.example' },
      403,
    ],
    ['POST marked cross-site is refused (anonymous)', null, 'POST', { 'sec-fetch-site': 'cross-site' }, 403],
    ['POST from the same origin passes (anonymous)', null, 'POST', { origin: 'http://localhost' }, 200],
  ] as const)('%s', async (_name, principal, method, headers, status) => {
    const res = await appWith(principal).request('/', { method, headers }, env);
    expect(res.status).toBe(status);
    if (status === 403) expect(await res.text()).toBe('csrf_failed');
  });
});
