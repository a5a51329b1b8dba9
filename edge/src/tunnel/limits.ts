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
  /** A portal socket that has not said hello by then is closed (4408): it would hold a slot and never serve. */
  helloTimeoutMs: 10_000,
  /**
   * How long a query waits for a portal that has connected but not yet said hello (a portal that just
   * (re)connected, a replica taking over), instead of answering 503 at once. Without such a socket: no wait.
   */
  helloWaitMs: 3_000,
  /** Times a query that got no answer head is sent again to another replica when its socket goes away. */
  maxDispatches: 3,
  /**
   * Liveness of sockets with queries in flight (heartbeat.ts): ping after `probeAfterMs` of silence, declare
   * the portal gone after `deadAfterMs` (its queries: another replica or 503 at once, not the 32 s deadline).
   * A live portal answers a ping within milliseconds, but 6 s closed live portals on a loaded 2-core machine
   * (event-loop pauses under CI load); 12 s still fails a vanished portal's queries well before the 32 s deadline.
   */
  heartbeat: { checkEveryMs: 1_000, probeAfterMs: 3_000, deadAfterMs: 12_000 },
} as const;
