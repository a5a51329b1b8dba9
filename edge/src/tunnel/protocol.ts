/** What the worker and the cluster's Durable Object say to each other (internal; never reachable from outside). */
import type { QueryKind } from '../../../lib/tunnel/index.ts';

/** Set by the worker after it authenticated the install token: the cluster the connecting portal belongs to. */
export const CLUSTER_ID_HEADER = 'x-understory-cluster-id';
/** The SHA-256 of the install token the portal connected with, to close its socket once the token is rotated. */
export const TOKEN_HASH_HEADER = 'x-understory-install-token-hash';

/** The body of the Durable Object's `POST /query`; params were validated by the worker. */
export type TunnelQuery = {
  kind: QueryKind;
  params: unknown;
  timeoutMs: number;
};

/**
 * The body of the Durable Object's `POST /token`: the cluster's install token changed (rotation: its new hash)
 * or the cluster is gone (null). Sockets opened with another token are closed with 4401.
 */
export type TokenChange = { installTokenHash: string | null };

/** The API's error shape, `{ error: { code, message } }`, for answers made inside the Durable Object. */
export function tunnelErrorResponse(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status, headers: { 'cache-control': 'no-store' } });
}
