import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_CHUNK_BYTES, PROTOCOL_VERSION } from '../../lib/tunnel/index.ts';
import { defaultLimits } from './limits.ts';
import { PortalMetrics } from './metrics.ts';
import { tokenFileReader } from './portal.ts';
import { jsonAnswer, type QueryContext, type QueryError } from './query.ts';
import { QueryRouter } from './queryRouter.ts';
import { EdgeRequestError, FakeEdge } from './testing/fakeEdge.ts';
import { type ServeFn, TunnelClient, type TunnelClientOptions } from './tunnelClient.ts';
import { tunnelUrl } from './tunnelUrl.ts';

const TOKEN = 'ust_cit_test-token';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(serve: ServeFn, extra: Partial<TunnelClientOptions> = {}) {
  const edge = new FakeEdge(TOKEN);
  await edge.start();
  const metrics = new PortalMetrics();
  const client = new TunnelClient({
    edgeUrl: edge.url,
    installToken: TOKEN,
    replicaId: 'portal-test-1',
    capabilities: ['test'],
    serve,
    limits: defaultLimits(),
    backoff: { initialMs: 200, maxMs: 1000, stableMs: 60_000 },
    metrics,
    ...extra,
  });
  cleanups.push(async () => {
    await client.stop();
    await edge.stop();
  });
  client.start();
  await edge.waitForHellos(1);
  return { edge, client, metrics };
}

function waitForState(client: TunnelClient, state: string): Promise<void> {
  if (client.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const on = (s: string) => {
      if (s === state) {
        client.off('state', on);
        resolve();
      }
    };
    client.on('state', on);
  });
}

/** A handler that answers after the signal fires, recording why it was aborted. */
function abortRecorder() {
  const reasons: unknown[] = [];
  let started: () => void = () => {};
  const startedP = new Promise<void>((r) => {
    started = r;
  });
  const serve: ServeFn = (_kind, _params, ctx: QueryContext) =>
    new Promise((_resolve, reject) => {
      started();
      ctx.signal.addEventListener('abort', () => {
        reasons.push(ctx.signal.reason);
        reject(ctx.signal.reason);
      });
    });
  return { serve, reasons, started: startedP };
}

describe('tunnel client against a real WebSocket server playing the edge', () => {
  it('dials the connect URL with the install token and says hello', async () => {
    const { edge } = await setup(async () => jsonAnswer({}));
    expect(edge.upgrades[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(edge.upgrades[0]?.url).toBe('/api/v1/tunnel/connect');
    expect(edge.hellos[0]).toMatchObject({
      type: 'hello',
      version: PROTOCOL_VERSION,
      replicaId: 'portal-test-1',
      capabilities: ['test'],
    });
  });

  it('serves many requests in flight and matches answers to ids', async () => {
    const { edge } = await setup(async (_kind, params) => {
      const n = (params as { n: number }).n;
      await new Promise((r) => setTimeout(r, (n * 7) % 50)); // finish out of order
      return jsonAnswer({ n });
    });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, n) => edge.request('test', { n })));
    expect(answers.map((a) => JSON.parse(a.body.toString()).n)).toEqual(
      Array.from({ length: 40 }, (_, n) => n),
    );
    expect(answers[0]?.head).toMatchObject({ status: 200, contentType: 'application/json; charset=utf-8' });
  });

  it('streams a large answer complete, in bounded chunks, from bytes and from an async stream', async () => {
    const big = Buffer.alloc(5 * MAX_CHUNK_BYTES + 12_345);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 256;
    const { edge } = await setup(async (kind) => {
      if (kind === 'bytes') return { status: 200, contentType: 'application/octet-stream', body: big };
      return {
        status: 200,
        contentType: 'application/octet-stream',
        body: (async function* () {
          // Pieces larger than a chunk and smaller ones: the client re-splits.
          yield big.subarray(0, 700_000);
          yield big.subarray(700_000, 700_100);
          yield big.subarray(700_100);
        })(),
      };
    });
    for (const kind of ['bytes', 'stream']) {
      const a = await edge.request(kind, {});
      expect(a.body.equals(big)).toBe(true);
      expect(Math.max(...a.chunkSizes)).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
      expect(a.chunkSizes.length).toBeGreaterThan(5);
    }
  });

  it('stops a request when the edge cancels it and sends nothing more for it', async () => {
    const rec = abortRecorder();
    const { edge, metrics } = await setup(rec.serve);
    const req = edge.request('test', {});
    req.catch(() => {});
    await rec.started;
    edge.cancel(req.id);
    await expect(req).rejects.toThrow('cancelled');
    await expect.poll(() => rec.reasons.length).toBe(1);
    expect((rec.reasons[0] as QueryError).code).toBe('cancelled');
    // The tunnel still serves (this handler only ever ends by its deadline), and nothing arrived for the
    // cancelled id: messages are ordered, so anything sent for it would have come before this answer.
    await expect(edge.request('test', {}, 100)).rejects.toMatchObject({ code: 'timeout' });
    expect(edge.stray).toEqual([]);
    const cancelled = await metrics.requests.get();
    expect(cancelled.values.find((v) => v.labels.outcome === 'cancelled')?.value).toBe(1);
  });

  it('enforces the per-request deadline with a timeout error, also when the handler ignores its signal', async () => {
    const { edge } = await setup(() => new Promise(() => {}));
    const t0 = Date.now();
    const err = await edge.request('test', {}, 150).catch((e: EdgeRequestError) => e);
    expect(err).toBeInstanceOf(EdgeRequestError);
    expect((err as EdgeRequestError).code).toBe('timeout');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('answers bad input per request: unknown kind, invalid params, overload', async () => {
    const router = new QueryRouter({ 'traces.get': async (p) => jsonAnswer(p) });
    const { edge } = await setup(router.serve, { limits: { ...defaultLimits(), maxInFlight: 2 } });
    await expect(edge.request('drop.tables', {})).rejects.toMatchObject({ code: 'not_found' });
    await expect(edge.request('traces.get', { traceId: "1' OR 1=1" })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('traceId'),
    });
    const ok = await edge.request('traces.get', { traceId: 'AB'.repeat(16) });
    expect(JSON.parse(ok.body.toString())).toEqual({ traceId: 'ab'.repeat(16) });
  });

  it('refuses requests beyond maxInFlight with overloaded', async () => {
    const rec = abortRecorder();
    const { edge } = await setup(rec.serve, { limits: { ...defaultLimits(), maxInFlight: 2 } });
    const held = [edge.request('test', {}, 5000), edge.request('test', {}, 5000)];
    for (const h of held) h.catch(() => {});
    await expect(edge.request('test', {})).rejects.toMatchObject({ code: 'overloaded' });
  });

  it('ignores and counts a malformed message without dropping the tunnel', async () => {
    const { edge, metrics, client } = await setup(async () => jsonAnswer({ ok: true }));
    edge.sendRaw('{"type":"request","id":"x y"}');
    edge.sendRaw(Buffer.from([9, 9, 9]));
    const a = await edge.request('test', {});
    expect(JSON.parse(a.body.toString())).toEqual({ ok: true });
    expect((await metrics.badMessages.get()).values[0]?.value).toBe(2);
    expect(client.state).toBe('open');
  });

  it('edge killed mid-query: the query is aborted cleanly, then the client reconnects with backoff', async () => {
    const rec = abortRecorder();
    const { edge, client, metrics } = await setup(rec.serve);
    const req = edge.request('test', {});
    await rec.started;
    const port = edge.port;
    const killedAt = Date.now();
    await edge.kill();
    await expect(req).rejects.toMatchObject({ code: 'unavailable' });
    await expect.poll(() => rec.reasons.length).toBe(1);
    expect((rec.reasons[0] as Error).message).toBe('the tunnel closed');
    await waitForState(client, 'waiting');
    expect(client.requestsInFlight).toBe(0);
    // The edge comes back on the same port; the client finds it by itself.
    const again = new FakeEdge(TOKEN);
    await again.start(port);
    cleanups.push(() => again.stop());
    await again.waitForHellos(1);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(100); // at least half the initial delay
    const after = await again.request('test', {}, 100).catch((e: EdgeRequestError) => e.code);
    expect(after).toBe('timeout'); // served by the reconnected tunnel
    const connects = (await metrics.connects.get()).values;
    expect(connects.find((v) => v.labels.result === 'open')?.value).toBe(2);
  }, 30_000);

  it('on shutdown answers running requests unavailable before closing, and closes with going-away', async () => {
    const rec = abortRecorder();
    const { edge, client } = await setup(rec.serve);
    const outcome = edge.request('test', {}).catch((e: unknown) => e);
    await rec.started;
    const closed = new Promise<number>((r) => edge.socket?.once('close', (code: number) => r(code)));
    await client.stop();
    expect(await outcome).toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('shutting down'),
    });
    expect(await closed).toBe(1001);
    expect(client.state).toBe('stopped');
  });

  it('drops a silent connection after the idle timeout and reconnects', async () => {
    const { edge, client } = await setup(async () => jsonAnswer({}), {
      pingIntervalMs: 100,
      idleTimeoutMs: 300,
    });
    // This edge stops answering pings: the portal must notice and dial again.
    edge.socket?.removeAllListeners('message');
    edge.socket?.on('message', () => {});
    await waitForState(client, 'waiting');
    expect(client.lastError).toBe('no message from the edge for 300 ms');
    await edge.waitForHellos(2);
  });

  it('keeps retrying with growing delays while the edge refuses the token', async () => {
    const edge = new FakeEdge('another-token');
    await edge.start();
    const client = new TunnelClient({
      edgeUrl: edge.url,
      installToken: TOKEN,
      replicaId: 'r',
      capabilities: [],
      serve: async () => jsonAnswer({}),
      limits: defaultLimits(),
      backoff: { initialMs: 50, maxMs: 400, stableMs: 1000 },
    });
    cleanups.push(async () => {
      await client.stop();
      await edge.stop();
    });
    client.start();
    await expect.poll(() => edge.upgrades.length, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
    expect(client.lastError).toContain('401');
    expect(edge.hellos).toEqual([]);
  });

  it('is open only once the edge acknowledged the hello; an edge that never does is dropped', async () => {
    const edge = new FakeEdge(TOKEN);
    edge.answerPings = false;
    await edge.start();
    const client = new TunnelClient({
      edgeUrl: edge.url,
      installToken: TOKEN,
      replicaId: 'r',
      capabilities: [],
      serve: async () => jsonAnswer({}),
      limits: defaultLimits(),
      handshakeTimeoutMs: 300,
      backoff: { initialMs: 50, maxMs: 400, stableMs: 60_000 },
    });
    const states: string[] = [];
    client.on('state', (s: string) => states.push(s));
    cleanups.push(async () => {
      await client.stop();
      await edge.stop();
    });
    client.start();
    await edge.waitForHellos(1);
    await waitForState(client, 'waiting');
    expect(client.lastError).toBe('the edge did not acknowledge the hello within 300 ms');
    expect(states).not.toContain('open');
    edge.answerPings = true;
    await waitForState(client, 'open');
  });

  it('reads a token file before every dial: waits for it, and retries at once when a refused token is replaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portal-token-'));
    const file = join(dir, 'install-token');
    const edge = new FakeEdge(TOKEN);
    await edge.start();
    const client = new TunnelClient({
      edgeUrl: edge.url,
      installToken: tokenFileReader(file),
      tokenRetryMs: 50,
      replicaId: 'r',
      capabilities: [],
      serve: async () => jsonAnswer({}),
      limits: defaultLimits(),
      // A refusal waits maxMs (60 s) unless the token changed: the test would time out without the prompt retry.
      backoff: { initialMs: 50, maxMs: 60_000, stableMs: 1000 },
    });
    cleanups.push(async () => {
      await client.stop();
      await edge.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    client.start();
    await waitForState(client, 'waiting');
    expect(client.lastError).toBe(`no install token yet: ${file} does not exist`);
    writeFileSync(file, 'ust_cit_old-token\n');
    await expect.poll(() => edge.upgrades.length, { timeout: 5000 }).toBe(1);
    await expect.poll(() => client.lastError, { timeout: 5000 }).toContain('401');
    writeFileSync(file, `${TOKEN}\n`);
    await edge.waitForHellos(1);
    expect(edge.upgrades.at(-1)?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });
});

describe('tunnelUrl', () => {
  it.each([
    ['http://127.0.0.1:8787', 'ws://127.0.0.1:8787/api/v1/tunnel/connect'],
    ['https://edge.example.com/', 'wss://edge.example.com/api/v1/tunnel/connect'],
    ['https://example.com/understory', 'wss://example.com/understory/api/v1/tunnel/connect'],
  ])('%s -> %s', (input, out) => {
    expect(tunnelUrl(input)).toBe(out);
  });

  it.each(['ftp://x', 'not a url', 'https://u:p@x', 'https://x/?a=1'])('refuses %s', (input) => {
    expect(() => tunnelUrl(input)).toThrow(/cannot use edge URL/);
  });
});
