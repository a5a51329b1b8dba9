/**
 * A portal played inside the test (workerd): it dials the real worker's tunnel route through
 * `exports.default.fetch` with an Upgrade header, says hello and answers the requests it receives as told.
 */
import { exports } from 'cloudflare:workers';
import { expect } from 'vitest';
import {
  decodeMessage,
  encodeAnswer,
  encodeChunk,
  encodeControl,
  PONG_TEXT,
  PROTOCOL_VERSION,
  QUERY_KINDS,
  READY_PING_TEXT,
  type RequestMessage,
  splitIntoChunks,
  TUNNEL_CONNECT_PATH,
} from '../../lib/tunnel/index.ts';
import { type CallOptions, callJson, ORIGIN } from './client.ts';
import type { OrgWorld } from './fixtures.ts';

export function connectTunnel(token: string | null): Promise<Response> {
  const headers: Record<string, string> = { upgrade: 'websocket' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return exports.default.fetch(new Request(ORIGIN + TUNNEL_CONNECT_PATH, { headers }));
}

export class TestPortal {
  readonly requests: RequestMessage[] = [];
  readonly cancels: string[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  closeCode = 0;
  /** Pings the edge sent (a live portal answers each with a pong, as the real one does). */
  pings = 0;
  /** Set by `vanish()`: answers nothing any more, not even pings, and never closes (power loss). */
  private gone = false;

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener('message', (e) => {
      const msg = decodeMessage(e.data as string | ArrayBuffer);
      if (msg.type === 'ping') {
        this.pings++;
        if (!this.gone) ws.send(PONG_TEXT);
      }
      if (msg.type === 'request') this.requests.push(msg);
      if (msg.type === 'cancel') this.cancels.push(msg.id);
      for (const w of this.waiters.splice(0)) w();
    });
    ws.addEventListener('close', (e) => {
      this.closed = true;
      this.closeCode = e.code;
    });
  }

  /** Connects, says hello and waits until the Durable Object has taken it (a pong after the hello). */
  static async connect(
    token: string,
    replicaId = 'replica-1',
    capabilities: string[] = QUERY_KINDS,
    version = PROTOCOL_VERSION,
  ) {
    const portal = await TestPortal.open(token);
    await portal.hello(replicaId, capabilities, version);
    return portal;
  }

  /** Connects without saying hello (a portal that has just dialled in). */
  static async open(token: string): Promise<TestPortal> {
    const res = await connectTunnel(token);
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    return new TestPortal(ws);
  }

  /** Says hello and waits for the pong that follows it (the Durable Object has taken the hello). */
  async hello(
    replicaId: string,
    capabilities: string[] = QUERY_KINDS,
    version = PROTOCOL_VERSION,
  ): Promise<void> {
    let ponged = false;
    this.ws.addEventListener('message', (e) => {
      if (e.data === '{"type":"pong"}') ponged = true;
    });
    this.ws.send(encodeControl({ type: 'hello', version, clusterId: null, replicaId, capabilities }));
    // READY_PING_TEXT is not byte-equal to PING_TEXT, so the Durable Object itself answers it, after the hello.
    this.ws.send(READY_PING_TEXT);
    await this.until(() => ponged, 'pong after hello');
  }

  async until(done: () => boolean, what = 'condition'): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`test portal: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  async nextRequests(n: number): Promise<RequestMessage[]> {
    await this.until(() => this.requests.length >= n, `${n} requests`);
    return this.requests.splice(0, n);
  }

  /**
   * Calls the edge at `path` and answers the one request that call sends to the cluster with `answer` (JSON):
   * the edge's answer and what the cluster was asked.
   */
  async callThrough(
    method: string,
    path: string,
    opts: CallOptions,
    answer: unknown,
  ): Promise<{ status: number; body: unknown; request: RequestMessage }> {
    const pending = callJson(method, path, opts);
    const [request] = await this.nextRequests(1);
    this.answer(request!.id, JSON.stringify(answer));
    const res = await pending;
    return { status: res.status, body: res.body, request: request! };
  }

  answer(id: string, body: Uint8Array | string, status = 200, contentType = 'application/json'): void {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    this.ws.send(encodeControl({ type: 'head', id, status, contentType }));
    let chunks = 0;
    for (const part of splitIntoChunks(bytes))
      this.ws.send(encodeChunk(id, chunks++, part).buffer as ArrayBuffer);
    this.ws.send(encodeControl({ type: 'end', id, chunks, bytes: bytes.byteLength }));
  }

  /** The whole answer in one frame (protocol version 2), as the portal sends a body that fits. */
  answerWhole(id: string, body: string, status = 200, contentType = 'application/json'): void {
    this.ws.send(encodeAnswer(id, status, contentType, new TextEncoder().encode(body)).buffer as ArrayBuffer);
  }

  /** Plays a portal that vanished without a close frame: it keeps the socket but never sends again. */
  vanish(): void {
    this.gone = true;
  }

  close(code = 1000): void {
    this.ws.close(code, 'test portal closing');
  }
}

/** A new cluster in `world` (each test its own, so its own Durable Object): id and install token. */
export async function newCluster(world: OrgWorld, name: string) {
  const res = await callJson<{ id: string; installToken: string }>(
    'POST',
    `/api/orgs/${world.orgId}/clusters`,
    { as: world.members.owner, body: { name } },
  );
  expect(res.status).toBe(201);
  return res.body;
}

export { within } from '../../lib/within.ts';
