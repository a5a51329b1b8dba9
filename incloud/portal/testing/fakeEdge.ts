import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import {
  decodeMessage,
  encodeControl,
  type HeadMessage,
  type HelloMessage,
  ResponseAssembler,
  TUNNEL_CONNECT_PATH,
  TunnelRequestError,
} from '../../../lib/tunnel/index.ts';

export interface EdgeAnswer {
  head: HeadMessage;
  body: Buffer;
  chunkSizes: number[];
}

/** A failed request as the edge sees it (code and HTTP status). */
export const EdgeRequestError = TunnelRequestError;
export type EdgeRequestError = TunnelRequestError;

/**
 * A small real WebSocket server that plays the edge's side of the tunnel for tests and the benchmark: it checks
 * the install token on the upgrade, records hellos, sends requests and reassembles streamed answers with the
 * shared ResponseAssembler (chunk order and `end` totals checked). Not a model of the Durable Object beyond that.
 */
export class FakeEdge {
  readonly hellos: HelloMessage[] = [];
  readonly upgrades: IncomingMessage[] = [];
  /** Messages for ids the edge no longer waits for (e.g. after a cancel). */
  readonly stray: string[] = [];
  socket: WebSocket | undefined;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly pending = new Map<string, ResponseAssembler>();
  private nextId = 1;
  private helloWaiters: (() => void)[] = [];
  port = 0;
  /** False plays an edge that takes the socket but never acknowledges the hello. */
  answerPings = true;

  constructor(private readonly token: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    const server = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
    server.on('upgrade', (req, socket, head) => {
      this.upgrades.push(req);
      // A refused client may reset the raw socket before our answer is flushed; an upgrade socket has no handler.
      socket.on('error', () => {});
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== TUNNEL_CONNECT_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      if (req.headers.authorization !== `Bearer ${this.token}`) {
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    this.server = server;
    this.wss = wss;
    this.port = (server.address() as AddressInfo).port;
  }

  private accept(ws: WebSocket): void {
    this.socket = ws;
    // A portal that goes away abruptly resets the connection; 'close' follows and fails what was pending.
    ws.on('error', () => {});
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const msg = decodeMessage(isBinary ? data : data.toString('utf8'));
      if (msg.type === 'hello') {
        this.hellos.push(msg);
        for (const w of this.helloWaiters.splice(0)) w();
        return;
      }
      if (msg.type === 'ping') {
        if (this.answerPings) ws.send('{"type":"pong"}');
        return;
      }
      if (msg.type === 'pong' || msg.type === 'request' || msg.type === 'cancel') return;
      const p = this.pending.get(msg.id);
      if (!p) {
        this.stray.push(msg.type);
        return;
      }
      p.accept(msg);
      if (p.finished) this.pending.delete(msg.id);
    });
    ws.on('close', () => {
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.fail(new TunnelRequestError('unavailable', 'the portal disconnected'));
      }
    });
  }

  /** Resolves once `count` hellos in total have arrived. */
  async waitForHellos(count: number): Promise<void> {
    while (this.hellos.length < count) await new Promise<void>((r) => this.helloWaiters.push(r));
  }

  /** Sends a request and resolves with the reassembled answer (or rejects with the portal's error). */
  request(
    kind: string,
    params: unknown,
    timeoutMs = 30_000,
    id = `r${this.nextId++}`,
  ): Promise<EdgeAnswer> & { id: string } {
    const ws = this.socket;
    const assembler = new ResponseAssembler(id);
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      assembler.fail(new TunnelRequestError('unavailable', 'no portal connected'));
    } else {
      this.pending.set(id, assembler);
      ws.send(encodeControl({ type: 'request', id, kind, params, timeoutMs }));
    }
    const promise = (async () => {
      const head = await assembler.head;
      const parts: Uint8Array[] = [];
      const reader = assembler.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
      }
      return { head, body: Buffer.concat(parts), chunkSizes: parts.map((p) => p.byteLength) };
    })();
    return Object.assign(promise, { id });
  }

  cancel(id: string): void {
    this.pending.get(id)?.fail(new TunnelRequestError('cancelled', 'cancelled by the test'));
    this.pending.delete(id);
    this.socket?.send(encodeControl({ type: 'cancel', id }));
  }

  sendRaw(data: string | Buffer): void {
    this.socket?.send(data);
  }

  /** Kills the server and every connection at once (no close handshake), like a crashed edge. */
  async kill(): Promise<void> {
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.socket = undefined;
    await this.stop();
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const c of this.wss?.clients ?? []) c.close(1001);
    this.wss?.close();
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
