/**
 * Reconnection delays: exponential growth with "equal jitter" (half fixed, half random), so many portals
 * cut off by one edge restart do not come back in lock-step, and no delay is ever near zero.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** A connection that stayed open this long resets the delay to `initialMs`. */
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, stableMs: 10_000 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {
    if (!(opts.initialMs > 0 && opts.maxMs >= opts.initialMs))
      throw new Error(`cannot use backoff ${opts.initialMs}..${opts.maxMs} ms: need 0 < initial <= max`);
  }

  /** The delay before the next attempt; each call grows the next one. */
  next(): number {
    const cap = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(cap / 2 + (this.random() * cap) / 2);
  }

  /** Called when a connection closes after `openMs` milliseconds. */
  connectionLasted(openMs: number): void {
    if (openMs >= this.opts.stableMs) this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
