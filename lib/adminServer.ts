import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Component } from './component.ts';
import { within } from './within.ts';

/**
 * Each Understory process serves `/healthz` (all its components healthy -> 200, else 503 with details)
 * and `/metrics` (prom-client, scraped by vmagent). Bound to loopback unless configured otherwise.
 */
export class AdminServer {
  readonly registry = new Registry();
  private server: Server | undefined;

  constructor(
    private readonly components: () => readonly Component[],
    private readonly host: string,
    private readonly port: number,
    processName: string,
  ) {
    this.registry.setDefaultLabels({ process: processName });
    // Event-loop delay sampled every 100 ms, not prom-client's 10: its timer woke every process 100 times
    // a second, over a third of an idle sensor's CPU (0.009 vs 0.015 cores). Delays are still measured
    // exactly; the histogram just gets fewer samples.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }

  async listen(): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      if (path === '/healthz') {
        void this.health().then((h) => {
          res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h));
        });
        return;
      }
      if (path === '/metrics') {
        void this.registry.metrics().then((body) => {
          res.writeHead(200, { 'content-type': this.registry.contentType }).end(body);
        });
        return;
      }
      res.writeHead(404).end();
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, resolve);
    });
    return (server.address() as AddressInfo).port;
  }

  async health(): Promise<{ ok: boolean; components: Record<string, { ok: boolean; detail?: string }> }> {
    const components: Record<string, { ok: boolean; detail?: string }> = {};
    await Promise.all(
      this.components().map(async (c) => {
        try {
          components[c.name] = await within(c.health(), 2000, 'health check');
        } catch (err) {
          components[c.name] = { ok: false, detail: (err as Error).message };
        }
      }),
    );
    return { ok: Object.values(components).every((c) => c.ok), components };
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
