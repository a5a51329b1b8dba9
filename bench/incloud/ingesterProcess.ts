/**
 * Child process for the remote-write benchmark: one metrics-ingester, alone in its process so its CPU time
 * can be read from /proc. Prints `port <n>` when listening; stops on SIGTERM.
 * argv: <vmUrl> <queueDir> <reportIntervalMs>
 */
import { MetricsIngester } from '../../incloud/ingester/ingester.ts';

const [vmUrl, queueDir, interval] = process.argv.slice(2);
const ing = new MetricsIngester({
  host: '127.0.0.1',
  port: 0,
  vmUrl: vmUrl!,
  queueDir: queueDir!,
  reportIntervalMs: Number(interval),
  aggregation: { maxSeriesPerMetric: 1_000_000, maxSeriesPerWorkload: 1_000_000 },
});
await ing.start();
process.stdout.write(`port ${ing.port}\n`);
process.on('SIGTERM', () => {
  void ing.shutdown(10_000).then(() => process.exit(0));
});
