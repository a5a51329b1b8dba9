import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

describe('GET /api/health', () => {
  it('proves D1 and Durable Objects answer', async () => {
    const res = await exports.default.fetch('https://edge.test/api/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, d1: true, durableObjects: true });
  });

  it('answers unknown API routes with a JSON 404', async () => {
    const res = await exports.default.fetch('https://edge.test/api/nope');
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe('not_found');
  });
});
