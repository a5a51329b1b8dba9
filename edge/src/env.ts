import type { DrizzleD1Database } from 'drizzle-orm/d1';
import type * as schema from '../../db/d1/schema.ts';
import type { Role, TokenScope } from './permissions.ts';

/** Who is calling: a browser session or an API token. Set by middleware/authenticate. */
export type Principal =
  | { kind: 'session'; userId: string; email: string; sessionIdHash: string; csrfToken: string }
  | {
      kind: 'token';
      tokenId: string;
      orgId: string;
      userId: string | null;
      serviceAccountId: string | null;
      scopes: TokenScope[];
    };

export type Db = DrizzleD1Database<typeof schema>;

export type AppEnv = {
  Bindings: Env;
  Variables: {
    db: Db;
    /** Client address (CF-Connecting-IP) and user agent, for audit and throttling. */
    ip: string | null;
    userAgent: string | null;
    principal: Principal | null;
    /** The caller's role in the organization of the route (org-scoped routes only; tokens: their cap). */
    orgRole: Role | null;
  };
};

/** `user:<id>`, `token:<id>` or `anonymous`: how the audit log names a principal. */
export function actorOf(principal: Principal | null): string {
  if (!principal) return 'anonymous';
  return principal.kind === 'session' ? `user:${principal.userId}` : `token:${principal.tokenId}`;
}

/** The session principal of a route whose permission is `account` (authorize has checked it exists). */
export function sessionPrincipal(principal: Principal | null) {
  if (principal?.kind !== 'session') throw new Error('route needs a session principal');
  return principal;
}
