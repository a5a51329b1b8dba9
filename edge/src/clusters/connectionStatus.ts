/**
 * What the tunnel (ClusterTunnel) writes back about a cluster: connected / disconnected and when it was last seen.
 * The clusters API only reads these columns.
 */
import { eq } from 'drizzle-orm';
import { openDb, schema } from '../db.ts';

export type ClusterConnectionStatus = 'connected' | 'disconnected';

/** Records the portal's connection state; `seenAt` defaults to now. Returns false for an unknown cluster. */
export async function recordClusterConnection(
  d1: D1Database,
  clusterId: string,
  status: ClusterConnectionStatus,
  seenAt = Date.now(),
): Promise<boolean> {
  const updated = await openDb(d1)
    .update(schema.clusters)
    .set({ status, lastSeenAt: seenAt })
    .where(eq(schema.clusters.id, clusterId))
    .returning({ id: schema.clusters.id });
  return updated.length === 1;
}
