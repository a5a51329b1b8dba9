import { describe, expect, it } from 'vitest';
import type { ProtocolName } from '../protocols/contract.ts';
import { ResourceTemplater, templateKey, templatePath } from './resourceTemplater.ts';
import { sqlShape } from './sqlShape.ts';

describe('templatePath', () => {
  it.each([
    ['/users/123/orders/9f1c0d2e4b5a', '/users/{id}/orders/{id}'],
    ['/users/123/orders/9f1c0d2e-4b5a-4c3d-8e9f-0a1b2c3d4e5f', '/users/{id}/orders/{id}'],
    ['/items/9F1C0D2E4B5A4C3D8E9F0A1B2C3D4E5F', '/items/{id}'],
    ['/blobs/sha256:e3b0c44298fc', '/blobs/{id}'],
    ['/commits/e3b0c44298fc1c149afbf4c8996fb924', '/commits/{id}'],
    ['/reports/2026-11-25/summary', '/reports/{id}/summary'],
    ['/logs/2026-11-25T18:50:00Z', '/logs/{id}'],
    ['/files/123.json', '/files/{id}.json'],
    ['/files/readme.md', '/files/readme.md'],
    ['/api/v2/users', '/api/v2/users'],
    ['/oauth2callback', '/oauth2callback'],
    ['/deadbeef/facade', '/deadbeef/facade'],
    ['/reset/aZ3kQ9xPwLmNbVcXrT', '/reset/{id}'],
    ['/tokens/abc123def456ghi', '/tokens/{id}'],
    ['/getUserProfileSettings', '/getUserProfileSettings'],
    ['/search?q=secret&token=abc', '/search'],
    ['/a/1#frag', '/a/{id}'],
    ['/a;jsessionid=XYZ123', '/a'],
    ['http://example.com/users/7', '/users/{id}'],
    ['/', '/'],
    ['', ''],
    ['/prices/-12.5', '/prices/{id}'],
    ['/users/123/', '/users/{id}/'],
    ['/pkg.Service/Method', '/pkg.Service/Method'],
  ])('%s -> %s', (input, want) => {
    expect(templatePath(input)).toBe(want);
  });

  it('cuts paths past maxSegments into one {...} segment', () => {
    expect(templatePath('/a/b/c/d/e', 3)).toBe('/a/b/c/{...}');
  });
});

describe('templateKey', () => {
  it.each([
    ['user:123:cart', 'user:{id}:cart'],
    ['session:9f1c0d2e-4b5a-4c3d-8e9f-0a1b2c3d4e5f', 'session:{id}'],
    ['orders.42.created', 'orders.{id}.created'],
    ['cache/2026-11-25', 'cache/{id}'],
    ['plainkey', 'plainkey'],
  ])('%s -> %s', (input, want) => {
    expect(templateKey(input)).toBe(want);
  });
});

describe('sqlShape', () => {
  it.each([
    ["SELECT * FROM users WHERE id = 42 AND name = 'bob'", 'SELECT * FROM users WHERE id = ? AND name = ?'],
    ["select 'it''s', 'a\\'b' from t", 'select ?, ? from t'],
    ['SELECT * FROM t WHERE id IN (1, 2, 3, 4)', 'SELECT * FROM t WHERE id IN (?)'],
    ["SELECT * FROM t WHERE s in ('a','b')", 'SELECT * FROM t WHERE s in (?)'],
    ["INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')", 'INSERT INTO t (a, b) VALUES (?, ?)'],
    ['INSERT INTO t VALUES (1, now()), (2, now())', 'INSERT INTO t VALUES (?, now())'],
    ['SELECT * FROM t WHERE a = $1 AND b = $2', 'SELECT * FROM t WHERE a = $1 AND b = $2'],
    ['SELECT $$secret body$$, $tag$x$tag$', 'SELECT ?, ?'],
    ["SELECT E'\\x41', X'FF', N'abc'", 'SELECT ?, ?, ?'],
    ['SELECT 1.5e10, .5, 0x1F', 'SELECT ?, ?, ?'],
    ['SELECT col1, t2.c3 FROM table2 t2', 'SELECT col1, t2.c3 FROM table2 t2'],
    ['SELECT "Name" FROM "Users"', 'SELECT "Name" FROM "Users"'],
    ["SELECT a -- password 'x'\nFROM t /* token 123 */ WHERE b=1", 'SELECT a FROM t WHERE b=?'],
    ['  SELECT\n\t1  ', 'SELECT ?'],
    ["SELECT * FROM t WHERE p = 'unterminated", 'SELECT * FROM t WHERE p = ?'],
    ['SELECT * FROM t LIMIT 10 OFFSET 20', 'SELECT * FROM t LIMIT ? OFFSET ?'],
    ['', ''],
  ])('%s', (input, want) => {
    expect(sqlShape(input)).toBe(want);
  });

  it.each([
    ['SELECT * FROM t WHERE name = "bob"', true, 'SELECT * FROM t WHERE name = ?'],
    ['SELECT * FROM t WHERE name = "bob"', false, 'SELECT * FROM t WHERE name = "bob"'],
    ['SELECT `user` FROM `t`', true, 'SELECT `user` FROM `t`'],
  ])('%s (double-quoted strings: %s)', (input, dq, want) => {
    expect(sqlShape(input, { doubleQuotedStrings: dq })).toBe(want);
  });
});

describe('ResourceTemplater', () => {
  it.each<[ProtocolName, string, string]>([
    ['http', '/users/123', '/users/{id}'],
    ['http2', '/users/123?x=1', '/users/{id}'],
    ['grpc', '/shop.Cart/AddItem', '/shop.Cart/AddItem'],
    ['postgres', 'SELECT * FROM t WHERE id = 7', 'SELECT * FROM t WHERE id = ?'],
    ['mysql', 'SELECT * FROM t WHERE n = "x"', 'SELECT * FROM t WHERE n = ?'],
    ['redis', 'user:123', 'user:{id}'],
    ['nats', 'orders.42', 'orders.{id}'],
    ['mongodb', 'shop.orders', 'shop.orders'],
  ])('%s %s -> %s', (protocol, input, want) => {
    expect(new ResourceTemplater().shape(protocol, input)).toBe(want);
  });

  it('applies configured rules first, only to their protocols', () => {
    const t = new ResourceTemplater({
      rules: [{ pattern: '^/tenants/[a-z]+/', replacement: '/tenants/{tenant}/', protocols: ['http'] }],
    });
    expect(t.shape('http', '/tenants/acme/users/5')).toBe('/tenants/{tenant}/users/{id}');
    expect(t.shape('http2', '/tenants/acme/users/5')).toBe('/tenants/acme/users/{id}');
  });

  it('refuses a rule that does not compile', () => {
    expect(() => new ResourceTemplater({ rules: [{ pattern: '(', replacement: '' }] })).toThrow(
      /cannot compile templating rule 0/,
    );
  });

  it('caps distinct templates per workload with an overflow value', () => {
    const t = new ResourceTemplater({ maxPerWorkload: 2, overflowValue: '__overflow__' });
    expect(t.template('cart', 'http', '/a/1')).toBe('/a/{id}');
    expect(t.template('cart', 'http', '/b')).toBe('/b');
    expect(t.template('cart', 'http', '/c')).toBe('__overflow__');
    expect(t.template('cart', 'http', '/a/2')).toBe('/a/{id}'); // known templates still pass
    expect(t.template('shop', 'http', '/c')).toBe('/c'); // the cap is per workload
    expect(t.overflowed).toBe(1);
    t.forget('cart');
    expect(t.template('cart', 'http', '/c')).toBe('/c');
  });

  it('caps the number of workloads it remembers', () => {
    const t = new ResourceTemplater({ maxWorkloads: 1 });
    expect(t.template('a', 'http', '/x')).toBe('/x');
    expect(t.template('b', 'http', '/x')).toBe('__overflow__');
  });

  it('cuts long templates at maxLength', () => {
    const t = new ResourceTemplater({ maxLength: 10 });
    expect(t.shape('http', '/abcdefghijklmnop')).toBe('/abcdefghi');
  });
});
