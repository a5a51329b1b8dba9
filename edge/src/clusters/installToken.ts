/**
 * Cluster install tokens: `ust_cit_<secret>`, one per cluster, stored as SHA-256, rotated by issuing a new one
 * (the old one stops working at once). The tunnel (ClusterTunnel) authenticates a connecting portal with
 * `authenticateClusterInstallToken`.
 */
import { eq } from 'drizzle-orm';
import { randomSecret, sha256Hex } from '../crypto/secrets.ts';
import { openDb, schema } from '../db.ts';

export const INSTALL_TOKEN_PREFIX = 'ust_cit_';
const DISPLAY_CHARS = 12;

export async function newInstallToken() {
  const token = INSTALL_TOKEN_PREFIX + randomSecret();
  return {
    token,
    hash: await sha256Hex(token),
    displayPrefix: token.slice(0, DISPLAY_CHARS),
    issuedAt: Date.now(),
  };
}

export type AuthenticatedCluster = { clusterId: string; orgId: string; name: string };

/**
 * The cluster an install token belongs to, or null for an unknown, rotated-away or malformed token.
 * For the tunnel: `await authenticateClusterInstallToken(env.DB, token)`.
 */
export async function authenticateClusterInstallToken(
  d1: D1Database,
  token: string,
): Promise<AuthenticatedCluster | null> {
  if (!token.startsWith(INSTALL_TOKEN_PREFIX) || token.length > 128) return null;
  const row = await openDb(d1).query.clusters.findFirst({
    where: eq(schema.clusters.installTokenHash, await sha256Hex(token)),
  });
  return row ? { clusterId: row.id, orgId: row.orgId, name: row.name } : null;
}
