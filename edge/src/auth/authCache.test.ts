import { describe, expect, it } from 'vitest';
import { AuthCache } from './authCache.ts';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('AuthCache', () => {
  it('reuses an answer for the TTL, then loads again', async () => {
    const c = clock();
    const cache = new AuthCache(5000, c.now);
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('k', load)).toBe(1);
    c.t += 4999;
    expect(await cache.get('k', load)).toBe(1);
    c.t += 1;
    expect(await cache.get('k', load)).toBe(2);
    expect([cache.hits, cache.misses]).toEqual([1, 2]);
  });

  it('keeps a value no longer than its own expiry, and caches unknowns (null) for the TTL too', async () => {
    const c = clock();
    const cache = new AuthCache(5000, c.now);
    let loads = 0;
    const expiring = async () => ({ n: ++loads, expiresAt: c.t + 1000 });
    await cache.get('e', expiring, (v) => v.expiresAt);
    c.t += 1000;
    expect((await cache.get('e', expiring, (v) => v.expiresAt)).n).toBe(2);
    let nulls = 0;
    const unknown = async () => {
      nulls++;
      return null;
    };
    await cache.get('u', unknown);
    await cache.get('u', unknown);
    expect(nulls).toBe(1);
  });

  it('clear() forgets everything at once; a TTL of 0 disables caching', async () => {
    const cache = new AuthCache(5000);
    let loads = 0;
    const load = async () => ++loads;
    await cache.get('k', load);
    cache.clear();
    expect(await cache.get('k', load)).toBe(2);
    const off = new AuthCache(0);
    await off.get('k', load);
    expect(await off.get('k', load)).toBe(4);
    expect(off.size).toBe(0);
  });

  it('holds a bounded number of entries, dropping the oldest', async () => {
    const cache = new AuthCache(60_000);
    for (let i = 0; i < 2500; i++) await cache.get(`k${i}`, async () => i);
    expect(cache.size).toBe(2000);
    let reloaded = false;
    await cache.get('k0', async () => {
      reloaded = true;
      return 0;
    });
    expect(reloaded).toBe(true);
  });
});
