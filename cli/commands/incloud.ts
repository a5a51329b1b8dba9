import type { Command } from 'commander';
import { InCloudProcess } from '../../incloud/inCloudProcess.ts';
import { onShutdownSignal } from '../../lib/signals.ts';
import { defaultDataDir, parsePort } from '../options.ts';

export function register(program: Command): void {
  program
    .command('incloud')
    .description(
      'run the in-cluster components in one process sharing an embedded ClickHouse (chdb); used by `up`',
    )
    .option(
      '--data-dir <dir>',
      'data directory (ClickHouse data lives in <dir>/clickhouse)',
      defaultDataDir(),
    )
    .option('--admin-host <host>', 'address of the /healthz and /metrics endpoint', '127.0.0.1')
    .option(
      '--admin-port <port>',
      'port of the /healthz and /metrics endpoint (0: any free port)',
      parsePort,
      9464,
    )
    .action(async (opts: { dataDir: string; adminHost: string; adminPort: number }) => {
      const proc = new InCloudProcess(opts);
      await proc.start();
      await onShutdownSignal(() => proc.shutdown());
    });
}
