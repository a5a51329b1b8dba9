import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';

describe('reconnection backoff', () => {
  it('grows exponentially to the cap, with half of each delay random', () => {
    const lo = new Backoff({ initialMs: 100, maxMs: 1000, stableMs: 5000 }, () => 0);
    expect(Array.from({ length: 6 }, () => lo.next())).toEqual([50, 100, 200, 400, 500, 500]);
    const hi = new Backoff({ initialMs: 100, maxMs: 1000, stableMs: 5000 }, () => 1);
    expect(Array.from({ length: 6 }, () => hi.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('resets only after a connection that stayed up', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, stableMs: 5000 }, () => 1);
    b.next();
    b.next();
    b.connectionLasted(100); // accepted and dropped at once: keep growing
    expect(b.next()).toBe(400);
    b.connectionLasted(5000);
    expect(b.next()).toBe(100);
  });

  it('spreads portals that lost the edge at the same moment', () => {
    const delays = new Set(
      Array.from({ length: 50 }, () => new Backoff({ initialMs: 1000, maxMs: 30_000, stableMs: 1 }).next()),
    );
    expect(delays.size).toBeGreaterThan(40);
  });

  it('refuses a nonsensical configuration', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10, stableMs: 1 })).toThrow(/backoff/);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5, stableMs: 1 })).toThrow(/backoff/);
  });
});
