import type { MiddlewareHandler } from 'hono';
import { TUNNEL_CONNECT_PATH } from '../../../../lib/tunnel/messages.ts';
import { authenticateApiToken } from '../../auth/apiTokens.ts';
import { readSession } from '../../auth/sessions.ts';
import type { AppEnv } from '../../env.ts';
import { ApiError } from '../../errors.ts';
import { apiTokenFromAuthorization } from '../../tunnel/prometheusAuth.ts';

/**
 * Finds who is calling. An `Authorization: Bearer` header wins and must be a live API token (a bad one is a
 * 401, never a silent fall-back to the cookie); otherwise the session cookie, if live. Anonymous requests go on
 * with a null principal: the authorize middleware decides whether the route allows that.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // A portal's tunnel carries the cluster's install token, which the tunnel route checks itself.
    if (c.req.path === TUNNEL_CONNECT_PATH) return next();
    const authorization = c.req.header('authorization');
    if (authorization !== undefined) {
      // Bearer, or basic auth with the token as password on a cluster's Prometheus URL (promtool).
      const token = apiTokenFromAuthorization(authorization, c.req.path);
      const principal = token ? await authenticateApiToken(c.var.db, token) : null;
      if (!principal) {
        throw new ApiError(
          401,
          'unauthenticated',
          'cannot authenticate: API token is invalid, expired or revoked',
        );
      }
      c.set('principal', principal);
      return next();
    }
    const session = await readSession(c);
    if (session) c.set('principal', { kind: 'session', ...session, sessionIdHash: session.idHash });
    await next();
  };
}
