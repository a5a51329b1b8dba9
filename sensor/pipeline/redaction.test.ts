import { describe, expect, it } from 'vitest';
import { Redactor } from './redaction.ts';

const r = new Redactor();
const X = '[REDACTED]';

describe('headers', () => {
  it.each([
    ['Authorization', 'Bearer abc.def.ghi', X],
    ['proxy-authorization', 'Basic dXNlcjpwYXNz', X],
    ['Cookie', 'sid=123; theme=dark', X],
    ['set-cookie', 'sid=123; HttpOnly', X],
    ['X-Api-Key', 'k-123', X],
    ['X-Auth-Token', 't-123', X],
    ['X-My-Secret-Header', 'shh', X],
    ['x-session-id', 'abc', X],
    ['Content-Type', 'application/json', 'application/json'],
    ['User-Agent', 'curl/8.0', 'curl/8.0'],
    [
      'Referer',
      'https://u:p@example.com/cb?code=1&token=abc&x=2',
      `https://${X}@example.com/cb?code=1&token=${X}&x=2`,
    ],
    ['Location', '/login?next=/a&password=pw', `/login?next=/a&password=${X}`],
    ['X-Forwarded-For', '10.0.0.1', '10.0.0.1'],
    ['X-Debug', 'Bearer abcdefghijkl', X],
  ])('%s: %s', (name, value, want) => {
    expect(r.headersOf({ [name]: value })).toEqual({ [name.toLowerCase()]: want });
  });

  it('keeps at most maxHeaders headers and cuts long values', () => {
    const small = new Redactor({ maxHeaders: 2, maxHeaderValueChars: 4 });
    expect(small.headersOf({ a: '123456', b: '1', c: '2' })).toEqual({ a: '1234', b: '1' });
  });
});

describe('bodies', () => {
  it.each([
    ['{"user":"bob","password":"hunter2"}', `{"user":"bob","password":"${X}"}`],
    ['{"a":{"b":[{"api_key":"k1"}]}}', `{"a":{"b":[{"api_key":"${X}"}]}}`],
    ['{"token": 12345, "n": 1}', `{"token": "${X}", "n": 1}`],
    ['{"secret": {"x": "y", "z": [1, 2]}, "ok": true}', `{"secret": "${X}", "ok": true}`],
    ['{"credentials": ["a", "b"], "ok": 1}', `{"credentials": "${X}", "ok": 1}`],
    ['{"refreshToken": null}', `{"refreshToken": "${X}"}`],
    ['{"pass\\u0077ord": "x"}', `{"pass\\u0077ord": "${X}"}`],
    ['{"note": "password", "v": "token"}', '{"note": "password", "v": "token"}'],
    ['{"msg": "say \\"hi\\"", "pwd": "p"}', `{"msg": "say \\"hi\\"", "pwd": "${X}"}`],
    ['{"user":"bob","password":"hun', `{"user":"bob","password":"${X}"`],
    ['{"user":"bob","secret":{"a":"b","c":', `{"user":"bob","secret":"${X}"`],
    ['[{"token":"a"},{"token":"b"}]', `[{"token":"${X}"},{"token":"${X}"}]`],
    ['user=bob&password=hunter2&x=1', `user=bob&password=${X}&x=1`],
    ['user=bob&pass%77ord=hunter2', `user=bob&pass%77ord=${X}`],
    ['client_secret=abc&grant_type=client_credentials', `client_secret=${X}&grant_type=client_credentials`],
    ['login user=bob password: hunter2 done', `login user=bob password: ${X} done`],
    ['AUTH api-key=abc123;', `AUTH api-key=${X};`],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig here', `jwt ${X} here`],
    ['key AKIAABCDEFGHIJKLMNOP end', `key ${X} end`],
    ['plain text body', 'plain text body'],
    // The patterns' cheap pre-tests (literal, whitespace) must not skip these:
    ['{"a":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"}', `{"a":"${X}"}`],
    ['{"k":"AKIAABCDEFGHIJKLMNOP"}', `{"k":"${X}"}`],
    ['hdr=Bearer\tabcdefghijkl', `hdr=${X}`],
    ['note Token\u00a0abcdefghijkl end', `note ${X} end`],
    ['{"a":"Bearerabcdefghijkl"}', '{"a":"Bearerabcdefghijkl"}'],
  ])('%s', (body, want) => {
    expect(r.body(body)).toBe(want);
  });

  it('uses the content type for JSON that does not start with a brace', () => {
    expect(r.body('  \n{"token":"a"}', 'application/json')).toBe(`  \n{"token":"${X}"}`);
  });

  it('cuts bodies at maxBodyChars before redacting, so a secret cut in half is still redacted', () => {
    const small = new Redactor({ maxBodyChars: 22 });
    expect(small.body('{"a":1,"password":"verylongsecret"}')).toBe(`{"a":1,"password":"${X}"`);
  });

  it('applies configured sensitive keys and value patterns', () => {
    const custom = new Redactor({
      sensitiveKeys: ['pin'],
      valuePatterns: ['\\b\\d{4}-\\d{4}-\\d{4}-\\d{4}\\b'],
    });
    expect(custom.body('{"pin":"1234","card":"1111-2222-3333-4444"}')).toBe(`{"pin":"${X}","card":"${X}"}`);
    expect(() => new Redactor({ valuePatterns: ['('] })).toThrow(/cannot compile redaction pattern 0/);
  });
});

describe('URLs', () => {
  it.each([
    ['/search?q=shoes&token=abc&page=2', `/search?q=shoes&token=${X}&page=2`],
    ['/cb?code=x&state=y#access_token=z', '/cb?code=x&state=y#access_token=z'],
    ['https://user:pw@host/x', `https://${X}@host/x`],
    ['/x?api_key=1&apikey=2&API-KEY=3', `/x?api_key=${X}&apikey=${X}&API-KEY=${X}`],
    ['/plain', '/plain'],
  ])('%s', (url, want) => {
    expect(r.url(url)).toBe(want);
  });
});

describe('nothing sensitive survives', () => {
  // Every secret value carries this marker; none may appear in any output.
  const secret = (i: number) => `SENTINEL${i}zz`;
  const keys = [
    'password',
    'Password',
    'user_password',
    'access_token',
    'refreshToken',
    'client-secret',
    'apiKey',
    'API_KEY',
    'X-Api-Key',
    'authorization',
    'session_id',
    'privateKey',
    'credentials',
    'cvv',
  ];

  it('in JSON at any depth, whole or truncated at every length', () => {
    keys.forEach((k, i) => {
      const doc = JSON.stringify({
        a: 1,
        nested: { list: [{ [k]: secret(i) }, { [k]: { deep: secret(i) } }] },
      });
      for (let cut = 1; cut <= doc.length; cut++) {
        const out = r.body(doc.slice(0, cut))!;
        expect(out, `${k} cut at ${cut}`).not.toMatch(/SENTINEL/);
      }
    });
  });

  it('in form bodies, URL query strings and headers', () => {
    keys.forEach((k, i) => {
      expect(r.body(`a=1&${encodeURIComponent(k)}=${secret(i)}&b=2`)).not.toMatch(/SENTINEL/);
      expect(r.url(`/p?a=1&${encodeURIComponent(k)}=${secret(i)}`)).not.toMatch(/SENTINEL/);
      expect(JSON.stringify(r.headersOf({ [k]: secret(i), referer: `/x?${k}=${secret(i)}` }))).not.toMatch(
        /SENTINEL/,
      );
      expect(r.body(`${k}=${secret(i)} and ${k}: ${secret(i)}`)).not.toMatch(/SENTINEL/);
    });
  });
});
