/**
 * Digests of requests stored recently, so a client's retry of a request that was stored (but whose answer it
 * never saw) is answered with success without storing it again. Bounded by count and age; insertion order
 * is age order, so the oldest entries are evicted first. Called only from the event loop.
 */
export class RecentRequests {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxEntries = 100_000,
    private readonly maxAgeMs = 15 * 60_000,
  ) {}

  has(digest: string, now = Date.now()): boolean {
    const at = this.seen.get(digest);
    return at !== undefined && now - at <= this.maxAgeMs;
  }

  add(digest: string, now = Date.now()): void {
    this.seen.delete(digest);
    this.seen.set(digest, now);
    for (const [k, at] of this.seen) {
      if (this.seen.size <= this.maxEntries && now - at <= this.maxAgeMs) break;
      this.seen.delete(k);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
