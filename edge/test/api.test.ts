import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../src/limits.ts';
import { call, callJson } from './client.ts';
import { signUp } from './fixtures.ts';

describe('the JSON API as a whole', () => {
  it('publishes an OpenAPI 3.1 document generated from the route definitions', async () => {
    const doc = await callJson<{
      openapi: string;
      paths: Record<string, Record<string, { 'x-permission': string }>>;
    }>('GET', '/api/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(doc.body.paths['/api/orgs/{orgId}/clusters']?.post?.['x-permission']).toBe('clusters:write');
    expect(doc.body.paths['/api/auth/login']?.post?.['x-permission']).toBe('public');
  });

  it('refuses bodies over the limit with 413 in the common error shape', async () => {
    const b = await signUp();
    const res = await callJson('POST', '/api/orgs', {
      as: b,
      body: { name: 'x'.repeat(MAX_BODY_BYTES), slug: 'big' },
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('answers malformed JSON with 400 in the common error shape', async () => {
    const b = await signUp();
    const res = await call('POST', '/api/orgs', {
      as: b,
      headers: { 'content-type': 'application/json' },
      body: undefined,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });
});
