import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, callJson, cookieFrom, unique } from '../../test/client.ts';
import { PASSWORD, signUp } from '../../test/fixtures.ts';
import { authCache } from '../auth/authCache.ts';
import { THROTTLE } from '../auth/throttle.ts';
import { sha256Hex } from '../crypto/secrets.ts';

const SESSION = '__Host-understory_session';

async function login(email: string, password: string, ip = '192.0.2.1') {
  return call('POST', '/api/auth/login', { body: { email, password }, headers: { 'cf-connecting-ip': ip } });
}

describe('sign-up and sign-in', () => {
  it('signs up, sets a hardened session cookie and stores only hashes', async () => {
    const email = `${unique('Alice')}@Example.com`;
    const res = await call('POST', '/api/auth/signup', {
      body: { email, password: PASSWORD, name: 'Alice' },
    });
    expect(res.status).toBe(201);
    const setCookie = res.headers.getSetCookie().find((l) => l.startsWith(SESSION))!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Path=\//);
    const body = (await res.json()) as { user: { id: string; email: string } };
    expect(body.user.email).toBe(email.toLowerCase());
    const id = cookieFrom(res, SESSION)!.split('=')[1]!;
    const row = await env.DB.prepare('SELECT id_hash FROM sessions WHERE user_id = ?')
      .bind(body.user.id)
      .first();
    expect(row?.id_hash).toBe(await sha256Hex(id));
    const user = await env.DB.prepare('SELECT password_hash FROM users WHERE id = ?')
      .bind(body.user.id)
      .first();
    expect(String(user?.password_hash)).toMatch(/^pbkdf2-sha256\$100000\$/);
  });

  it('refuses a taken email (409) and invalid input (400)', async () => {
    const b = await signUp();
    const again = await callJson('POST', '/api/auth/signup', {
      body: { email: b.email, password: PASSWORD, name: 'x' },
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'conflict' } });
    const bad = await callJson<{ error: { code: string; issues: unknown[] } }>('POST', '/api/auth/signup', {
      body: { email: 'not-an-email', password: 'short', name: '' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    expect(bad.body.error.issues.length).toBeGreaterThanOrEqual(3);
  });

  it('signs in with the right password only, and GET /api/me shows the user', async () => {
    const b = await signUp();
    const wrong = await callJson('POST', '/api/auth/login', {
      body: { email: b.email, password: 'wrong password!' },
    });
    expect(wrong.status).toBe(401);
    const res = await login(b.email, PASSWORD, '192.0.2.50');
    expect(res.status).toBe(200);
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    const me = await callJson<{ user: { email: string }; csrfToken: string }>('GET', '/api/me', {
      as: { cookie: cookieFrom(res, SESSION)!, csrf: csrfToken, userId: '', email: '' },
    });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(b.email);
    expect(me.body.csrfToken).toBe(csrfToken);
    expect((await call('GET', '/api/me')).status).toBe(401);
  });
});

describe('sessions', () => {
  it('sign-out ends the session at once', async () => {
    const b = await signUp();
    expect((await call('POST', '/api/auth/logout', { as: b })).status).toBe(200);
    expect((await call('GET', '/api/me', { as: b })).status).toBe(401);
  });

  it('sign-out everywhere ends every session of the user', async () => {
    const b = await signUp();
    const second = await login(b.email, PASSWORD, '192.0.2.51');
    const other = { ...b, cookie: cookieFrom(second, SESSION)! };
    const res = await callJson<{ ended: number }>('POST', '/api/auth/logout-all', { as: b });
    expect(res.body.ended).toBe(2);
    expect((await call('GET', '/api/me', { as: b })).status).toBe(401);
    expect((await call('GET', '/api/me', { as: other })).status).toBe(401);
  });

  it('an expired session stops working at once', async () => {
    const b = await signUp();
    await env.DB.prepare('UPDATE sessions SET expires_at = ? WHERE user_id = ?')
      .bind(Date.now() - 1, b.userId)
      .run();
    authCache.clear(); // as another isolate would see it within AUTH_CACHE_TTL_MS (test/authCache.test.ts)
    expect((await call('GET', '/api/me', { as: b })).status).toBe(401);
  });

  it('an idle session stops working (idle timeout)', async () => {
    const b = await signUp();
    const idle = Number(env.SESSION_IDLE_MINUTES) * 60_000;
    await env.DB.prepare('UPDATE sessions SET last_seen_at = ? WHERE user_id = ?')
      .bind(Date.now() - idle - 1000, b.userId)
      .run();
    authCache.clear();
    expect((await call('GET', '/api/me', { as: b })).status).toBe(401);
  });
});

describe('CSRF', () => {
  it('refuses a cookie-authenticated change without or with a wrong CSRF token', async () => {
    const b = await signUp();
    const missing = await callJson('POST', '/api/orgs', {
      as: b,
      noCsrf: true,
      body: { name: 'x', slug: unique('s') },
    });
    expect(missing.status).toBe(403);
    expect(missing.body).toMatchObject({ error: { code: 'csrf_failed' } });
    const wrong = await call('POST', '/api/orgs', {
      as: { ...b, csrf: 'forged' },
      body: { name: 'x', slug: unique('s') },
    });
    expect(wrong.status).toBe(403);
    // Another session's token does not work either: tokens are per session.
    const other = await signUp();
    expect((await call('POST', '/api/auth/logout', { as: { ...b, csrf: other.csrf } })).status).toBe(403);
    expect((await call('GET', '/api/me', { as: b })).status).toBe(200);
  });

  it('refuses cross-site requests by Origin, even for sign-in', async () => {
    const b = await signUp();
    const res = await call('POST', '/api/auth/logout', {
      as: b,
      headers: { origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
    const signin = await call('POST', '/api/auth/login', {
      body: { email: b.email, password: PASSWORD },
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(signin.status).toBe(403);
    const same = await call('POST', '/api/auth/logout', { as: b, headers: { origin: 'https://edge.test' } });
    expect(same.status).toBe(200);
  });
});

describe('sign-in throttling', () => {
  it('locks an account after repeated failures, even with the right password', async () => {
    const b = await signUp();
    for (let i = 0; i < THROTTLE.maxAccountFailures; i++) {
      expect((await login(b.email, 'wrong password!', `198.51.100.${i}`)).status).toBe(401);
    }
    const locked = await login(b.email, PASSWORD, '198.51.100.200');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  }, 60_000);

  it('locks a client address that guesses across accounts', async () => {
    const ip = '203.0.113.77';
    for (let i = 0; i < THROTTLE.maxAddressFailures; i++) {
      expect((await login(`${unique('nobody')}@example.com`, 'wrong password!', ip)).status).toBe(401);
    }
    const b = await signUp();
    expect((await login(b.email, PASSWORD, ip)).status).toBe(429);
    expect((await login(b.email, PASSWORD, '203.0.113.78')).status).toBe(200);
  }, 120_000);
});
