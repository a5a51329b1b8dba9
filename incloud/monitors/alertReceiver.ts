import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { logger } from '../../lib/log.ts';

/** Largest body accepted on /api/v2/alerts; vmalert sends one batch per group evaluation. */
export const MAX_ALERTS_BODY_BYTES = 4 * 1024 * 1024;

/** The part of Alertmanager's v2 `postableAlerts` that vmalert sends and the evaluator uses. */
const postableAlert = z.object({
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string().datetime({ offset: true }).optional(),
  endsAt: z.string().datetime({ offset: true }).optional(),
  generatorURL: z.string().optional(),
});
export const postableAlerts = z.array(postableAlert).max(10_000);
export type PostableAlert = z.infer<typeof postableAlert>;

/**
 * An Alertmanager-compatible receiver: `POST /api/v2/alerts` (and `/api/v1/alerts`, the same body) answered
 * 200 once `onAlerts` has taken the batch, 400 for a malformed one (counted by the caller through `onInvalid`),
 * 413 past MAX_ALERTS_BODY_BYTES. vmalert is its only client (`-notifier.url`); it listens on loopback or the
 * pod network, never outside the cluster.
 */
export class AlertReceiver {
  private server: Server | undefined;
  port = 0;
  private readonly log = logger('monitors.receiver');

  constructor(
    private readonly host: string,
    private readonly wantedPort: number,
    private readonly onAlerts: (alerts: PostableAlert[], receivedAt: number) => void,
    private readonly onInvalid: (reason: string) => void,
  ) {}

  async listen(): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        this.log.error({ err }, 'cannot handle alerts request');
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.wantedPort, this.host, () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/-/healthy' || path === '/-/ready') return void res.writeHead(200).end('ok');
    if (path !== '/api/v2/alerts' && path !== '/api/v1/alerts')
      return void res.writeHead(404).end('not found');
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_ALERTS_BODY_BYTES) {
        this.onInvalid('too large');
        res.writeHead(413).end(`cannot accept alerts: body over ${MAX_ALERTS_BODY_BYTES} bytes`);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    }
    let parsed: ReturnType<typeof postableAlerts.safeParse>;
    try {
      parsed = postableAlerts.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch (err) {
      this.onInvalid('json');
      return void res.writeHead(400).end(`cannot parse alerts: ${(err as Error).message}`);
    }
    if (!parsed.success) {
      this.onInvalid('schema');
      return void res.writeHead(400).end(`cannot accept alerts: ${parsed.error.issues[0]?.message}`);
    }
    this.onAlerts(parsed.data, Date.now());
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success"}');
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
