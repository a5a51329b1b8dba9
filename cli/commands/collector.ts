import type { Command } from 'commander';
import { migrate } from '../../incloud/clickhouse/migrations.ts';
import { OtlpCollector } from '../../incloud/collector/collector.ts';
import { RemoteWriteSink } from '../../incloud/collector/metricsSink.ts';
import {
  addRetentionOptions,
  addStoreOptions,
  openStore,
  parsePositiveInt,
  type RetentionFlags,
  retentionOf,
  type StoreFlags,
} from '../../incloud/commandOptions.ts';
import { BearerCheck, readIngestToken } from '../../incloud/ingester/bearerAuth.ts';
import { AdminServer } from '../../lib/adminServer.ts';
import { onShutdownSignal } from '../../lib/signals.ts';
import { defaultDataDir, parsePort } from '../options.ts';

interface Options extends StoreFlags, RetentionFlags {
  host: string;
  port: number;
  ingesterUrl: string;
  maxBodyBytes: number;
  maxInFlight: number;
  maxQueued: number;
  migrate: boolean;
  adminHost: string;
  adminPort: number;
  tokenFile?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('collector')
    .description(
      'OTLP/HTTP receiver (POST /v1/traces, /v1/logs, /v1/metrics; protobuf or JSON; gzip): writes spans and ' +
        'logs to ClickHouse in the OpenTelemetry Collector exporter layout (otel_traces, otel_logs) and forwards ' +
        'metrics to the metrics-ingester. Answers 200 only once stored; 400 malformed, 413 too large, 415 wrong ' +
        'type or encoding, 429/503 with Retry-After when busy or ClickHouse fails. `understory incloud` runs the ' +
        'same collector in process; use this command beside a ClickHouse server.',
    )
    .option('--host <address>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port (4318 is the OTLP/HTTP port)', parsePort, 4318)
    .option(
      '--ingester-url <url>',
      'remote-write URL of the metrics-ingester for OTLP metrics',
      'http://127.0.0.1:9091/api/v1/write',
    )
    .option(
      '--max-body-bytes <n>',
      'largest request body accepted (compressed); larger -> 413',
      parsePositiveInt,
      8 << 20,
    )
    .option('--max-in-flight <n>', 'ClickHouse writes at once', parsePositiveInt, 4)
    .option('--max-queued <n>', 'requests waiting for a write slot before 429', parsePositiveInt, 64)
    .option(
      '--token-file <file>',
      'file holding the cluster ingest token senders must send as "Authorization: Bearer <token>" (or env ' +
        'UNDERSTORY_INGEST_TOKEN); required unless --host is a loopback address',
    )
    .option('--no-migrate', 'do not apply the ClickHouse migrations at start')
    .option('--admin-host <host>', 'address of /healthz and /metrics', '127.0.0.1')
    .option('--admin-port <port>', 'port of /healthz and /metrics (0: any free port)', parsePort, 9465);
  addStoreOptions(cmd, defaultDataDir());
  addRetentionOptions(cmd).action(async (opts: Options) => {
    // One token per cluster: the collector checks it and sends it on to the metrics-ingester.
    let token: string | undefined;
    try {
      token = readIngestToken(opts.tokenFile);
      BearerCheck.forListener('OTLP', opts.host, token);
    } catch (err) {
      process.stderr.write(`cannot start the collector: ${(err as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    const store = openStore(opts);
    if (opts.migrate) await migrate(store, { retention: retentionOf(opts) });
    let collector: OtlpCollector | undefined;
    const admin = new AdminServer(
      () => (collector ? [collector] : []),
      opts.adminHost,
      opts.adminPort,
      'collector',
    );
    collector = new OtlpCollector({
      host: opts.host,
      port: opts.port,
      store,
      metrics: new RemoteWriteSink(opts.ingesterUrl, 10_000, token),
      token,
      maxBodyBytes: opts.maxBodyBytes,
      maxInFlight: opts.maxInFlight,
      maxQueued: opts.maxQueued,
      registry: admin.registry,
    });
    await collector.start();
    await admin.listen();
    await onShutdownSignal(async () => {
      await admin.close();
      await collector.shutdown();
      await store.close();
    });
  });
}
