import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ServerStore } from '../../incloud/clickhouse/serverStore.ts';
import type { ClickhouseStore } from '../../incloud/clickhouse/store.ts';
import { K8sWatcher } from '../../incloud/k8s-watcher/k8sWatcher.ts';
import { AdminServer } from '../../lib/adminServer.ts';
import { logger } from '../../lib/log.ts';
import { onShutdownSignal } from '../../lib/signals.ts';
import { parsePort } from '../options.ts';

interface Options {
  kubeconfig?: string;
  plainHost: boolean;
  host?: string;
  port: number;
  tokenFile?: string;
  clickhouseUrl?: string;
  clickhouseUser?: string;
  clickhousePasswordFile?: string;
  clusterName: string;
  adminHost: string;
  adminPort: number;
}

export function register(program: Command): void {
  program
    .command('k8s-watcher')
    .description(
      'list and watch Kubernetes objects, resolve pods to workloads and serve IP/container -> workload maps to ' +
        'the sensors (GET /v1/snapshot, /v1/watch, /v1/workloads); store Kubernetes events in ClickHouse. ' +
        'With --plain-host, serve local processes and containers as workloads instead (no cluster needed).',
    )
    .option('--kubeconfig <file>', 'kubeconfig to use (default: the pod service account when in a cluster)')
    .option(
      '--plain-host',
      'no cluster: publish local processes and containers (from /proc) as workloads',
      false,
    )
    .option(
      '--host <address>',
      'address of the sensor API (default 0.0.0.0 in a cluster, 127.0.0.1 with --plain-host)',
    )
    .option('--port <port>', 'port of the sensor API', parsePort, 9470)
    .option(
      '--token-file <file>',
      'file holding the bearer token sensors must send (or env UNDERSTORY_K8S_WATCHER_TOKEN); required unless ' +
        'the API listens on loopback',
    )
    .option('--clickhouse-url <url>', 'ClickHouse server for Kubernetes events, e.g. http://clickhouse:8123')
    .option('--clickhouse-user <name>', 'ClickHouse user', 'default')
    .option('--clickhouse-password-file <file>', 'file holding the ClickHouse password')
    .option('--cluster-name <name>', 'written with every event (ClusterName column)', '')
    .option('--admin-host <host>', 'address of the /healthz and /metrics endpoint', '127.0.0.1')
    .option(
      '--admin-port <port>',
      'port of the /healthz and /metrics endpoint (0: any free port)',
      parsePort,
      9471,
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  understory k8s-watcher --kubeconfig ~/.kube/config --token-file /run/secrets/sensor-token\n' +
        '  understory k8s-watcher --plain-host          # one machine, API on 127.0.0.1:9470\n',
    )
    .action(async (opts: Options) => {
      const log = logger('k8s-watcher');
      let token: string | undefined;
      let password: string | undefined;
      try {
        token = readSecret(opts.tokenFile, 'UNDERSTORY_K8S_WATCHER_TOKEN');
        password = opts.clickhousePasswordFile ? readSecret(opts.clickhousePasswordFile) : undefined;
      } catch (err) {
        log.error({ err: (err as Error).message }, 'cannot start k8s-watcher');
        process.exitCode = 1;
        return;
      }
      let store: ClickhouseStore | undefined;
      if (opts.clickhouseUrl) {
        store = new ServerStore({ url: opts.clickhouseUrl, username: opts.clickhouseUser, password });
      } else if (!opts.plainHost) {
        log.warn('no --clickhouse-url: Kubernetes events are watched but not stored');
      }
      const components: K8sWatcher[] = [];
      const admin = new AdminServer(() => components, opts.adminHost, opts.adminPort, 'k8s-watcher');
      const watcher = new K8sWatcher({
        mode: opts.plainHost ? 'plain-host' : 'cluster',
        kubeconfigPath: opts.kubeconfig,
        api: { host: opts.host ?? (opts.plainHost ? '127.0.0.1' : '0.0.0.0'), port: opts.port, token },
        store,
        events: { clusterName: opts.clusterName },
        registry: admin.registry,
      });
      components.push(watcher);
      try {
        await watcher.start();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'cannot start k8s-watcher');
        await store?.close();
        process.exitCode = 1;
        return;
      }
      await admin.listen();
      await onShutdownSignal(async () => {
        await admin.close();
        await watcher.shutdown();
        await store?.close();
      });
    });
}

/** A secret from a file (trailing newline trimmed) or an environment variable; never from argv. */
function readSecret(file: string | undefined, env?: string): string | undefined {
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new Error(`cannot read secret file ${file}: ${(err as Error).message}`);
    }
  }
  return env ? process.env[env] || undefined : undefined;
}
