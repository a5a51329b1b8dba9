import { join } from 'node:path';
import { AdminServer } from '../lib/adminServer.ts';
import { type Component, shutdownAll, startAll } from '../lib/component.ts';
import { logger } from '../lib/log.ts';
import { DEFAULT_RETENTION, type Retention, validateRetention } from './clickhouse/retention.ts';
import { ClickhouseSchema } from './clickhouse/schemaComponent.ts';
import { EmbeddedClickhouse } from './clickhouse/storeComponent.ts';
import { OtlpCollector } from './collector/collector.ts';
import { MetricsIngester } from './ingester/ingester.ts';
import type { AggregatorConfig } from './ingester/seriesAggregator.ts';
import { K8sWatcher } from './k8s-watcher/k8sWatcher.ts';

export interface InCloudOptions {
  dataDir: string;
  /** Admin endpoint (/healthz, /metrics). Port 0 picks a free port. */
  adminHost: string;
  adminPort: number;
  /** OTLP/HTTP receiver (default 127.0.0.1:4318, the OTLP/HTTP port). */
  collectorHost?: string;
  collectorPort?: number;
  /** Prometheus remote-write receiver, path /api/v1/write (default 127.0.0.1:9091). */
  ingesterHost?: string;
  ingesterPort?: number;
  /** VictoriaMetrics base URL the ingester writes to (default http://127.0.0.1:8428). */
  vmUrl?: string;
  /**
   * The k8s-watcher's sensor API. On one machine there is no Kubernetes API: the watcher runs in plain-host
   * mode (processes and containers as workloads), on loopback without a token (default 127.0.0.1:9470).
   */
  watcherHost?: string;
  watcherPort?: number;
  reportIntervalMs?: number;
  aggregation?: Partial<AggregatorConfig>;
  retention?: Retention;
}

export const INCLOUD_DEFAULTS = {
  collectorHost: '127.0.0.1',
  collectorPort: 4318,
  ingesterHost: '127.0.0.1',
  ingesterPort: 9091,
  vmUrl: 'http://127.0.0.1:8428',
  watcherHost: '127.0.0.1',
  watcherPort: 9470,
  reportIntervalMs: 15_000,
} as const;

/**
 * The in-cluster components in ONE process sharing one embedded ClickHouse (the single-binary shape of
 * `understory up`). In a cluster each component runs as its own workload instead (see infra/).
 * Start order: ClickHouse, its schema, the metrics-ingester, then the collector (which forwards OTLP metrics
 * to the ingester in process); shutdown runs in reverse, so receivers stop before what they write to.
 */
export class InCloudProcess {
  readonly clickhouse: EmbeddedClickhouse;
  readonly ingester: MetricsIngester;
  readonly collector: OtlpCollector;
  readonly watcher: K8sWatcher;
  readonly components: Component[];
  readonly admin: AdminServer;
  adminPort = 0;
  private readonly log = logger('incloud');

  constructor(private readonly opts: InCloudOptions) {
    const o = { ...INCLOUD_DEFAULTS, ...opts };
    const retention = validateRetention(opts.retention ?? DEFAULT_RETENTION);
    this.admin = new AdminServer(() => this.components, opts.adminHost, opts.adminPort, 'incloud');
    this.clickhouse = new EmbeddedClickhouse(join(opts.dataDir, 'clickhouse'));
    this.ingester = new MetricsIngester({
      host: o.ingesterHost,
      port: o.ingesterPort,
      vmUrl: o.vmUrl,
      queueDir: join(opts.dataDir, 'ingester-queue'),
      reportIntervalMs: o.reportIntervalMs,
      ...(opts.aggregation ? { aggregation: opts.aggregation } : {}),
      registry: this.admin.registry,
    });
    this.collector = new OtlpCollector({
      host: o.collectorHost,
      port: o.collectorPort,
      store: this.clickhouse.store,
      metrics: this.ingester,
      registry: this.admin.registry,
    });
    this.watcher = new K8sWatcher({
      mode: 'plain-host',
      api: { host: o.watcherHost, port: o.watcherPort },
      store: this.clickhouse.store,
      registry: this.admin.registry,
    });
    this.components = [
      this.clickhouse,
      new ClickhouseSchema(() => this.clickhouse.store, retention),
      this.ingester,
      this.collector,
      this.watcher,
    ];
  }

  async start(): Promise<void> {
    await startAll(this.components);
    this.adminPort = await this.admin.listen();
    this.log.info(
      {
        admin: `http://${this.opts.adminHost}:${this.adminPort}`,
        otlp: `http://${this.opts.collectorHost ?? INCLOUD_DEFAULTS.collectorHost}:${this.collector.port}`,
        remoteWrite: `http://${this.opts.ingesterHost ?? INCLOUD_DEFAULTS.ingesterHost}:${this.ingester.port}/api/v1/write`,
        sensorApi: `http://${this.opts.watcherHost ?? INCLOUD_DEFAULTS.watcherHost}:${this.watcher.port}/v1/snapshot`,
      },
      'in-cluster components started',
    );
  }

  async shutdown(): Promise<void> {
    await this.admin.close();
    await shutdownAll(this.components);
  }
}
