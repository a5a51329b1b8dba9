/**
 * A short-lived, per-isolate cache of what authenticating a request reads from D1: the principal of an API token
 * or a session, a member's role in an organization, and whether a cluster belongs to an organization. In
 * `wrangler dev` each D1 read costs several milliseconds (more under load), three per data query, more than the
 * whole tunnel; with the cache a busy caller (Grafana refreshing a dashboard, the UI) pays them once per TTL.
 *
 * Revocation bound: a change made through this isolate (any successful POST/PUT/PATCH/DELETE: sign-out, token
 * revocation, member removal or role change, cluster deletion) clears the whole cache at once, so it takes
 * effect immediately here; other isolates see it within AUTH_CACHE_TTL_MS. Expiry times (session, token) are
 * also checked on every cached hit. Workers isolates are single-threaded: no locking.
 */

/** How long a D1 answer about who may do what is reused. The revocation bound across isolates. */
export const AUTH_CACHE_TTL_MS = 5_000;
/** Entries held at most; the oldest go first (Map keeps insertion order). */
const MAX_ENTRIES = 2_000;

type Entry = { value: unknown; until: number };

export class AuthCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(
    private ttlMs = AUTH_CACHE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The `AUTH_CACHE_TTL_MS` var (wrangler.toml; 0 disables the cache, e.g. to measure what it saves), clamped
   * to 0..60 s; absent or not a number: the default. Called per request; a change empties the cache.
   */
  configure(vars: Record<string, unknown>): void {
    const raw = vars.AUTH_CACHE_TTL_MS;
    const n =
      typeof raw === 'string' && /^\d+$/.test(raw) ? Math.min(Number(raw), 60_000) : AUTH_CACHE_TTL_MS;
    if (n !== this.ttlMs) {
      this.ttlMs = n;
      this.entries.clear();
    }
  }

  /**
   * The cached value of `key`, or `load()`'s, kept for the TTL (or until `expiresAt` of the value, if sooner).
   * `null` results are cached too (an unknown token stays unknown), but only for the TTL.
   */
  async get<T>(key: string, load: () => Promise<T>, expiresAt?: (value: T) => number | null): Promise<T> {
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > t) {
      this.hits++;
      return hit.value as T;
    }
    this.misses++;
    const value = await load();
    if (this.ttlMs > 0) {
      const limit = expiresAt?.(value) ?? null;
      const until = Math.min(t + this.ttlMs, limit ?? Number.POSITIVE_INFINITY);
      this.entries.delete(key);
      this.entries.set(key, { value, until });
      if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    }
    return value;
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The isolate's cache (module scope lives as long as the isolate). */
export const authCache = new AuthCache();
