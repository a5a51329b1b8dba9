import type { Command } from 'commander';
import {
  addRetentionOptions,
  collectDropRule,
  parsePositiveInt,
  type RetentionFlags,
  retentionOf,
} from '../../incloud/commandOptions.ts';
import { INCLOUD_DEFAULTS, InCloudProcess } from '../../incloud/inCloudProcess.ts';
import { DEFAULT_AGGREGATOR_CONFIG } from '../../incloud/ingester/seriesAggregator.ts';
import {
  addEmbeddedMonitorOptions,
  type EmbeddedMonitorFlags,
  embeddedMonitors,
  embeddedTargetSecrets,
} from '../../incloud/monitors/embedded.ts';
import {
  addEmbeddedPortalOptions,
  type EmbeddedPortalFlags,
  embeddedPortal,
} from '../../incloud/portal/embedded.ts';
import { onShutdownSignal } from '../../lib/signals.ts';
import { defaultDataDir, parsePort } from '../options.ts';

interface Options extends RetentionFlags, EmbeddedPortalFlags, EmbeddedMonitorFlags {
  dataDir: string;
  adminHost: string;
  adminPort: number;
  collectorHost: string;
  collectorPort: number;
  ingesterHost: string;
  ingesterPort: number;
  vmUrl: string;
  watcherHost: string;
  watcherPort: number;
  reportInterval: number;
  maxSeriesPerMetric: number;
  maxSeriesPerWorkload: number;
  maxIdleIntervals: number;
  dropLabel: { metric?: string; labels: string[] }[];
}

export function register(program: Command): void {
  const cmd = program
    .command('incloud')
    .description(
      'run the in-cluster components in one process sharing an embedded ClickHouse (chdb): the schema ' +
        'migrations, the OTLP collector, the metrics-ingester (writing VictoriaMetrics) and the k8s-watcher ' +
        '(plain-host mode: local processes and containers as workloads); used by `up`',
    )
    .option(
      '--data-dir <dir>',
      'data directory (ClickHouse in <dir>/clickhouse, ingester buffer in <dir>/ingester-queue)',
      defaultDataDir(),
    )
    .option('--admin-host <host>', 'address of the /healthz and /metrics endpoint', '127.0.0.1')
    .option(
      '--admin-port <port>',
      'port of the /healthz and /metrics endpoint (0: any free port)',
      parsePort,
      9464,
    )
    .option('--collector-host <host>', 'address of the OTLP/HTTP receiver', INCLOUD_DEFAULTS.collectorHost)
    .option(
      '--collector-port <port>',
      'port of the OTLP/HTTP receiver (/v1/traces, /v1/logs, /v1/metrics)',
      parsePort,
      INCLOUD_DEFAULTS.collectorPort,
    )
    .option('--ingester-host <host>', 'address of the remote-write receiver', INCLOUD_DEFAULTS.ingesterHost)
    .option(
      '--ingester-port <port>',
      'port of the remote-write receiver (/api/v1/write)',
      parsePort,
      INCLOUD_DEFAULTS.ingesterPort,
    )
    .option('--vm-url <url>', 'VictoriaMetrics base URL the ingester writes to', INCLOUD_DEFAULTS.vmUrl)
    .option(
      '--watcher-host <host>',
      'address of the k8s-watcher sensor API (plain-host mode; loopback only, it has no token here)',
      INCLOUD_DEFAULTS.watcherHost,
    )
    .option(
      '--watcher-port <port>',
      'port of the k8s-watcher sensor API (/v1/snapshot, /v1/watch, /v1/workloads)',
      parsePort,
      INCLOUD_DEFAULTS.watcherPort,
    )
    .option(
      '--report-interval <seconds>',
      'seconds between ingester writes to VictoriaMetrics',
      parsePositiveInt,
      INCLOUD_DEFAULTS.reportIntervalMs / 1000,
    )
    .option(
      '--max-series-per-metric <n>',
      'ingester: series per metric name before overflow',
      parsePositiveInt,
      DEFAULT_AGGREGATOR_CONFIG.maxSeriesPerMetric,
    )
    .option(
      '--max-series-per-workload <n>',
      'ingester: series per workload before overflow',
      parsePositiveInt,
      DEFAULT_AGGREGATOR_CONFIG.maxSeriesPerWorkload,
    )
    .option(
      '--max-idle-intervals <n>',
      'ingester: intervals without data before a series is removed',
      parsePositiveInt,
      DEFAULT_AGGREGATOR_CONFIG.maxIdleIntervals,
    )
    .option(
      '--drop-label <[metricRegex:]label>',
      'ingester: remove a label (for metrics matching the regex); repeatable',
      collectDropRule,
      [],
    );
  addEmbeddedPortalOptions(cmd);
  addEmbeddedMonitorOptions(cmd, parsePort);
  addRetentionOptions(cmd).action(async (opts: Options) => {
    const proc = new InCloudProcess({
      dataDir: opts.dataDir,
      adminHost: opts.adminHost,
      adminPort: opts.adminPort,
      collectorHost: opts.collectorHost,
      collectorPort: opts.collectorPort,
      ingesterHost: opts.ingesterHost,
      ingesterPort: opts.ingesterPort,
      vmUrl: opts.vmUrl,
      watcherHost: opts.watcherHost,
      watcherPort: opts.watcherPort,
      reportIntervalMs: opts.reportInterval * 1000,
      aggregation: {
        maxSeriesPerMetric: opts.maxSeriesPerMetric,
        maxSeriesPerWorkload: opts.maxSeriesPerWorkload,
        maxIdleIntervals: opts.maxIdleIntervals,
        dropLabels: opts.dropLabel,
      },
      retention: retentionOf(opts),
    });
    // The portal shares this process's embedded ClickHouse (see incloud/portal/embedded.ts).
    const targetSecrets = embeddedTargetSecrets(opts);
    const portal = embeddedPortal(opts, proc, opts.vmUrl, targetSecrets);
    if (portal) proc.components.push(portal);
    // The monitors evaluator, likewise on the shared ClickHouse (incloud/monitors/embedded.ts).
    const monitors = embeddedMonitors(opts, proc, opts.vmUrl, targetSecrets);
    if (monitors) proc.components.push(monitors);
    await proc.start();
    await onShutdownSignal(() => proc.shutdown());
  });
}
