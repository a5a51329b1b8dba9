import { join } from 'node:path';
import type { Command } from 'commander';
import { collectDropRule, parseList, parsePositiveInt } from '../../incloud/commandOptions.ts';
import { readIngestToken } from '../../incloud/ingester/bearerAuth.ts';
import { MetricsIngester } from '../../incloud/ingester/ingester.ts';
import { DEFAULT_AGGREGATOR_CONFIG } from '../../incloud/ingester/seriesAggregator.ts';
import { AdminServer } from '../../lib/adminServer.ts';
import { onShutdownSignal } from '../../lib/signals.ts';
import { defaultDataDir, parsePort } from '../options.ts';

interface Options {
  host: string;
  port: number;
  vmUrl: string;
  dataDir: string;
  maxQueueBytes: number;
  reportInterval: number;
  sourceLabels: string[];
  workloadLabel: string;
  maxSeriesPerMetric: number;
  maxSeriesPerWorkload: number;
  maxIdleIntervals: number;
  overflowValue: string;
  dropLabel: { metric?: string; labels: string[] }[];
  adminHost: string;
  adminPort: number;
  tokenFile?: string;
}

const d = DEFAULT_AGGREGATOR_CONFIG;

export function register(program: Command): void {
  program
    .command('ingester')
    .description(
      'metrics-ingester: Prometheus remote-write receiver (POST /api/v1/write, protobuf + snappy) for all sensors. ' +
        'Sums series across sensors, limits cardinality (per metric and per workload; excess folds into an ' +
        'overflow series), drops labels by rule, ages out series not reported, and writes VictoriaMetrics once ' +
        'per report interval, buffering on disk (bounded) while VictoriaMetrics is down.',
    )
    .option('--host <address>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port', parsePort, 9091)
    .option('--vm-url <url>', 'VictoriaMetrics base URL (writes <url>/api/v1/write)', 'http://127.0.0.1:8428')
    .option('--data-dir <dir>', 'the on-disk buffer lives in <dir>/ingester-queue', defaultDataDir())
    .option(
      '--max-queue-bytes <n>',
      'bound of the on-disk buffer; the oldest data is dropped past it',
      parsePositiveInt,
      512 << 20,
    )
    .option('--report-interval <seconds>', 'seconds between writes to VictoriaMetrics', parsePositiveInt, 15)
    .option(
      '--source-labels <list>',
      'labels naming the sender, summed away (comma-separated)',
      parseList,
      d.sourceLabels,
    )
    .option(
      '--workload-label <name>',
      'label that names the workload for the per-workload limit',
      d.workloadLabel,
    )
    .option(
      '--max-series-per-metric <n>',
      'series per metric name before overflow',
      parsePositiveInt,
      d.maxSeriesPerMetric,
    )
    .option(
      '--max-series-per-workload <n>',
      'series per workload before overflow',
      parsePositiveInt,
      d.maxSeriesPerWorkload,
    )
    .option(
      '--max-idle-intervals <n>',
      'report intervals without data before a series is removed',
      parsePositiveInt,
      d.maxIdleIntervals,
    )
    .option('--overflow-value <value>', 'label value given to folded series', d.overflowValue)
    .option(
      '--drop-label <[metricRegex:]label>',
      'remove a label (for metrics matching the regex); repeatable',
      collectDropRule,
      [],
    )
    .option(
      '--token-file <file>',
      'file holding the cluster ingest token senders must send as "Authorization: Bearer <token>" (or env ' +
        'UNDERSTORY_INGEST_TOKEN); required unless --host is a loopback address',
    )
    .option('--admin-host <host>', 'address of /healthz and /metrics', '127.0.0.1')
    .option('--admin-port <port>', 'port of /healthz and /metrics (0: any free port)', parsePort, 9466)
    .action(async (opts: Options) => {
      let ingester: MetricsIngester | undefined;
      const admin = new AdminServer(
        () => (ingester ? [ingester] : []),
        opts.adminHost,
        opts.adminPort,
        'ingester',
      );
      try {
        ingester = newIngester(opts, readIngestToken(opts.tokenFile), admin.registry);
      } catch (err) {
        process.stderr.write(`cannot start the ingester: ${(err as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      const started = ingester;
      await started.start();
      await admin.listen();
      await onShutdownSignal(async () => {
        await admin.close();
        await started.shutdown();
      });
    });
}

function newIngester(
  opts: Options,
  token: string | undefined,
  registry: AdminServer['registry'],
): MetricsIngester {
  return new MetricsIngester({
    token,
    host: opts.host,
    port: opts.port,
    vmUrl: opts.vmUrl,
    queueDir: join(opts.dataDir, 'ingester-queue'),
    maxQueueBytes: opts.maxQueueBytes,
    reportIntervalMs: opts.reportInterval * 1000,
    aggregation: {
      sourceLabels: opts.sourceLabels,
      workloadLabel: opts.workloadLabel,
      maxSeriesPerMetric: opts.maxSeriesPerMetric,
      maxSeriesPerWorkload: opts.maxSeriesPerWorkload,
      maxIdleIntervals: opts.maxIdleIntervals,
      overflowValue: opts.overflowValue,
      dropLabels: opts.dropLabel,
    },
    registry,
  });
}
