import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedNotification {
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  at: number;
}

/**
 * A local HTTP receiver for notification tests. `failFirst` answers the first N requests with 503 (to test
 * retries); `accepted` holds the requests answered 200, `attempts` counts all of them.
 */
export class WebhookReceiver {
  private server: Server | undefined;
  readonly accepted: ReceivedNotification[] = [];
  attempts = 0;
  private waiters: { n: number; resolve: () => void }[] = [];

  constructor(private failFirst = 0) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.attempts++;
        if (this.failFirst > 0) {
          this.failFirst--;
          res.writeHead(503).end('try later');
          return;
        }
        this.accepted.push({
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          at: Date.now(),
        });
        res.writeHead(200).end('ok');
        this.waiters = this.waiters.filter((w) => {
          if (this.accepted.length < w.n) return true;
          w.resolve();
          return false;
        });
      });
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  }

  /** Resolves once `n` notifications were accepted; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs: number): Promise<void> {
    if (this.accepted.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`expected ${n} notifications, got ${this.accepted.length}`)),
        timeoutMs,
      );
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
