import type { MiddlewareHandler } from 'hono';
import { edgeConfig } from '../../config.ts';
import { timingSafeEqualText } from '../../crypto/secrets.ts';
import type { AppEnv } from '../../env.ts';
import { ApiError } from '../../errors.ts';

export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF defence for state-changing requests, in two layers:
 * 1. Origin check on every unsafe request: a browser always sends Origin (or Sec-Fetch-Site) on cross-site
 *    POST/PUT/PATCH/DELETE; if it names another site the request is refused. This also covers sign-in and
 *    sign-up, which have no session yet (login CSRF).
 * 2. Synchronizer token for cookie-authenticated requests: each session has its own random CSRF token, given to
 *    the UI by sign-in and GET /api/me and required in the X-CSRF-Token header. A cross-site page can make the
 *    browser send the cookie but cannot read the token. Unlike a double-submit cookie, the token lives server-side,
 *    so a sibling subdomain that can plant cookies cannot forge it.
 * Bearer-token requests are exempt: browsers never attach Authorization headers on their own.
 */
export function csrf(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const origin = c.req.header('origin');
    const allowed = new Set([new URL(c.req.url).origin]);
    const publicUrl = edgeConfig(c.env).publicUrl;
    if (publicUrl) allowed.add(new URL(publicUrl).origin);
    if (origin !== undefined && !allowed.has(origin)) {
      throw new ApiError(403, 'csrf_failed', `cannot accept a cross-site request from origin ${origin}`);
    }
    if (origin === undefined && c.req.header('sec-fetch-site') === 'cross-site') {
      throw new ApiError(403, 'csrf_failed', 'cannot accept a cross-site request');
    }
    const principal = c.var.principal;
    if (principal?.kind === 'session') {
      const sent = c.req.header(CSRF_HEADER) ?? '';
      if (!timingSafeEqualText(sent, principal.csrfToken)) {
        throw new ApiError(
          403,
          'csrf_failed',
          `cannot accept the request: missing or wrong ${CSRF_HEADER} header`,
        );
      }
    }
    await next();
  };
}
