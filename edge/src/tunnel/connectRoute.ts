/**
 * `GET /api/v1/tunnel/connect`: where a cluster's portal dials in. The install token (`Authorization: Bearer
 * ust_cit_...`) is checked here, before the upgrade, so an unknown or rotated token gets a plain 401 and never
 * reaches the Durable Object; the cluster is the token's cluster, whatever the portal says in its hello.
 */
import type { z } from '@hono/zod-openapi';
import { TUNNEL_CONNECT_PATH } from '../../../lib/tunnel/index.ts';
import type { App } from '../app.ts';
import { authenticateClusterInstallToken } from '../clusters/installToken.ts';
import { sha256Hex } from '../crypto/secrets.ts';
import { ApiError } from '../errors.ts';
import { defineRoute } from '../routeRegistry.ts';
import { ErrorSchema, json } from '../schemas.ts';
import { CLUSTER_ID_HEADER, TOKEN_HASH_HEADER } from './protocol.ts';

const connect = defineRoute({
  method: 'get',
  path: TUNNEL_CONNECT_PATH,
  // Public to the session/token middleware: the install token is its own credential, checked in the handler.
  permission: 'public',
  summary: "A cluster portal's tunnel (WebSocket upgrade, Authorization: Bearer <install token>)",
  responses: {
    101: { description: 'switching to the tunnel protocol (lib/tunnel)' },
    401: json(ErrorSchema, 'no or an invalid install token'),
    426: json(ErrorSchema, 'not a WebSocket upgrade'),
  },
});

export function registerTunnelConnectRoute(app: App) {
  app.openapi(connect, async (c) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket')
      throw new ApiError(
        426 as 400,
        'invalid_request',
        'cannot connect the tunnel: expected a WebSocket upgrade',
      );
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const cluster = token ? await authenticateClusterInstallToken(c.env.DB, token) : null;
    if (!cluster)
      throw new ApiError(
        401,
        'unauthenticated',
        'cannot connect the tunnel: install token is missing, unknown or rotated',
      );
    const headers = new Headers(c.req.raw.headers);
    headers.set(CLUSTER_ID_HEADER, cluster.clusterId);
    headers.set(TOKEN_HASH_HEADER, await sha256Hex(token!));
    headers.delete('authorization');
    const stub = c.env.CLUSTER_TUNNEL.get(c.env.CLUSTER_TUNNEL.idFromName(cluster.clusterId));
    return stub.fetch(new Request('https://cluster-tunnel/connect', { headers })) as unknown as ReturnType<
      typeof c.json<z.infer<typeof ErrorSchema>, 401>
    >;
  });
}
