import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNotificationResult } from '../../lib/tunnel/monitors.ts';
import { createQueryRouter } from '../portal/handlers.ts';
import { defaultLimits } from '../portal/limits.ts';
import { QueryError } from '../portal/query.ts';
import type { QueryRouter } from '../portal/queryRouter.ts';
import { freePort } from '../testing/ports.ts';
import { openStore, TEST_KEYS } from './testing/stack.ts';
import { sendTestNotification } from './testNotification.ts';

/**
 * `targets.test` through the portal's real QueryRouter on chdb: the sealed target is opened in the portal and
 * ONE marked POST reaches a local receiver, whose status (or the network error) is answered; no retries.
 */
let db: Awaited<ReturnType<typeof openStore>>;
let router: QueryRouter;
let server: Server;
let base = '';
const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
const ctx = () => ({ signal: new AbortController().signal, timeoutMs: 30_000 });

beforeAll(async () => {
  db = await openStore();
  router = createQueryRouter({ clickhouse: db.store, targetSecrets: TEST_KEYS }, defaultLimits());
  // Paths choose the receiver's behaviour.
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (path === '/busy') return void res.writeHead(503, 'Service Unavailable').end('later');
      if (path === '/moved') return void res.writeHead(302, { location: `${base}/ok` }).end();
      if (path === '/silent') return; // never answers
      if (path === '/endless') {
        // 200 and a body without end: the sender must stop reading it.
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 120);
        const pump = () => {
          while (res.write(chunk));
        };
        res.on('drain', pump);
        pump();
        return;
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await db?.close();
});

async function putTarget(id: string, path: string, type = 'webhook') {
  await router.serve(
    'targets.put',
    { target: { id, name: `${id} receiver`, type, url: `${base}${path}`, headers: { 'X-Key': 'k-secret' } } },
    ctx(),
  );
}

async function testSend(id: string): Promise<TestNotificationResult> {
  const answer = await router.serve('targets.test', { id, requestedBy: 'user:u1' }, ctx());
  expect(answer.status).toBe(200);
  return (
    JSON.parse(new TextDecoder().decode(answer.body as Uint8Array)) as { result: TestNotificationResult }
  ).result;
}

const sent = (path: string) => received.filter((r) => r.path === path);

describe('test notifications', () => {
  it('sends one marked notification with the sealed secrets and reports the status', async () => {
    await putTarget('hook', '/ok');
    const result = await testSend('hook');
    expect(result).toMatchObject({ delivered: true, status: 200, error: null });
    const [req, ...more] = sent('/ok');
    expect(more).toEqual([]);
    expect(req!.headers['x-key']).toBe('k-secret');
    expect(req!.headers['x-understory-notification-id']).toBe(result.notificationId);
    const body = JSON.parse(req!.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      version: 1,
      test: true,
      notificationId: result.notificationId,
      monitor: { name: '[TEST] Understory test notification' },
      alerts: [{ labels: { understory_test: 'true', target: 'hook receiver' } }],
    });
    expect(JSON.stringify(body)).toContain('sent by user:u1');
    // The answer carries no secret.
    expect(JSON.stringify(result)).not.toContain('k-secret');
  });

  it('marks the Slack payload as a test', async () => {
    await putTarget('slack', '/slack', 'slack');
    expect((await testSend('slack')).delivered).toBe(true);
    const body = JSON.parse(sent('/slack')[0]!.body) as { text: string };
    expect(body.text).toBe(':test_tube: [TEST] Understory test notification');
  });

  it('reports a failing receiver after ONE attempt (no retries), a refused connection and a redirect', async () => {
    await putTarget('busy', '/busy');
    expect(await testSend('busy')).toMatchObject({
      delivered: false,
      status: 503,
      error: 'HTTP 503 Service Unavailable',
    });
    expect(sent('/busy')).toHaveLength(1);

    const closedPort = await freePort();
    await router.serve(
      'targets.put',
      { target: { id: 'gone', name: 'gone', type: 'webhook', url: `http://127.0.0.1:${closedPort}/x` } },
      ctx(),
    );
    const gone = await testSend('gone');
    expect(gone).toMatchObject({ delivered: false, status: null });
    expect(gone.error).toMatch(/ECONNREFUSED/);

    // Redirects are never followed: the payload and headers go only where the editor said.
    await putTarget('moved', '/moved');
    const moved = await testSend('moved');
    expect(moved).toMatchObject({ delivered: false, status: null });
    expect(moved.error).toMatch(/redirect/);
    expect(sent('/ok')).toHaveLength(1);
  });

  it('answers 404 for an unknown target and 503 when the portal cannot open it', async () => {
    const err = await router.serve('targets.test', { id: 'nope' }, ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueryError);
    expect((err as QueryError).code).toBe('not_found');
    // A portal without the key can list the target but not open it: the reason, as 503.
    const keyless = createQueryRouter({ clickhouse: db.store }, defaultLimits());
    const locked = (await keyless
      .serve('targets.test', { id: 'hook' }, ctx())
      .catch((e: unknown) => e)) as QueryError;
    expect(locked.code).toBe('unavailable');
    expect(locked.message).toMatch(/cannot open the secrets of target hook/);
  });

  it('keeps the real notifications’ limits: the deadline, and a bounded read of the answer', async () => {
    const target = { id: 't', name: 't', type: 'webhook' as const, headers: {} };
    const silent = await sendTestNotification(
      { ...target, url: `${base}/silent` },
      '',
      new AbortController().signal,
      300,
    );
    expect(silent).toMatchObject({ delivered: false, status: null, error: 'no answer within 300 ms' });
    const endless = await sendTestNotification(
      { ...target, url: `${base}/endless` },
      '',
      new AbortController().signal,
      30_000,
    );
    expect(endless).toMatchObject({ delivered: true, status: 200 });
  });
});
