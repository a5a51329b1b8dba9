import { join } from 'node:path';
import { AdminServer } from '../lib/adminServer.ts';
import { type Component, shutdownAll, startAll } from '../lib/component.ts';
import { logger } from '../lib/log.ts';
import { EmbeddedClickhouse } from './clickhouse/storeComponent.ts';

export interface InCloudOptions {
  dataDir: string;
  /** Admin endpoint (/healthz, /metrics). Port 0 picks a free port. */
  adminHost: string;
  adminPort: number;
}

/**
 * The in-cluster components in ONE process sharing one embedded ClickHouse (the single-binary shape of
 * `understory up`). In a cluster each component runs as its own workload instead (see infra/).
 * Components are added here as they are built: collector, metrics-ingester, k8s-watcher, portal.
 */
export class InCloudProcess {
  readonly clickhouse: EmbeddedClickhouse;
  readonly components: Component[];
  readonly admin: AdminServer;
  adminPort = 0;
  private readonly log = logger('incloud');

  constructor(private readonly opts: InCloudOptions) {
    this.clickhouse = new EmbeddedClickhouse(join(opts.dataDir, 'clickhouse'));
    this.components = [this.clickhouse];
    this.admin = new AdminServer(() => this.components, opts.adminHost, opts.adminPort, 'incloud');
  }

  async start(): Promise<void> {
    await startAll(this.components);
    this.adminPort = await this.admin.listen();
    this.log.info(
      { admin: `http://${this.opts.adminHost}:${this.adminPort}` },
      'in-cluster components started',
    );
  }

  async shutdown(): Promise<void> {
    await this.admin.close();
    await shutdownAll(this.components);
  }
}
