/** Limits of the edge's side of the tunnel, in one place. */
export const TUNNEL_LIMITS = {
  /** Time a portal gets for one query (sent as `timeoutMs`); the portal caps it again with its own limit. */
  queryTimeoutMs: 30_000,
  /** Extra time the Durable Object waits past `timeoutMs` for the portal's own `timeout` error. */
  deadlineGraceMs: 2_000,
  /** Queries one cluster's Durable Object holds at once; beyond that 429 at once rather than a queue. */
  maxInFlight: 256,
  /** How often at most a live connection refreshes `last_seen_at` in D1. */
  lastSeenEveryMs: 60_000,
} as const;
