import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { ChdbStore } from '../../incloud/clickhouse/chdbStore.ts';
import { ServerStore } from '../../incloud/clickhouse/serverStore.ts';
import type { ClickhouseStore } from '../../incloud/clickhouse/store.ts';
import { TargetSecretKeys } from '../../incloud/monitors/targetSecrets.ts';
import { Portal } from '../../incloud/portal/portal.ts';
import { AdminServer } from '../../lib/adminServer.ts';
import { type Component, shutdownAll, startAll } from '../../lib/component.ts';
import { onShutdownSignal } from '../../lib/signals.ts';
import { parsePort } from '../options.ts';

interface Options {
  edgeUrl: string;
  installToken?: string;
  installTokenFile?: string;
  vmUrl?: string;
  clickhouse?: string;
  clickhouseUser: string;
  clickhousePasswordFile?: string;
  replicaId?: string;
  secretsKeyFile?: string;
  adminHost: string;
  adminPort: number;
}

export function register(program: Command): void {
  program
    .command('portal')
    .description(
      'connect this cluster to the edge: dial out over a WebSocket (no inbound port) and answer the queries ' +
        'routed to it from VictoriaMetrics and ClickHouse, read-only and bounded',
    )
    .requiredOption(
      '--edge-url <url>',
      'the edge, e.g. https://understory.example.com (tunnel: <url>/api/v1/tunnel/connect)',
    )
    .option(
      '--install-token <token>',
      "the cluster's install token (ust_cit_...); prefer --install-token-file or env UNDERSTORY_INSTALL_TOKEN, " +
        'which keep it out of the process list',
    )
    .option(
      '--install-token-file <file>',
      'file holding the install token, read again at every reconnection (a rotated Secret needs no restart)',
    )
    .option(
      '--vm-url <url>',
      'VictoriaMetrics base URL for PromQL and RED figures, e.g. http://victoria-metrics:8428',
    )
    .option(
      '--clickhouse <url-or-dir>',
      'ClickHouse for logs, traces and events: a server URL (http://clickhouse:8123) or an embedded (chdb) data ' +
        'directory that no other process has open',
    )
    .option('--clickhouse-user <name>', 'ClickHouse server user', 'default')
    .option('--clickhouse-password-file <file>', 'file holding the ClickHouse server password')
    .addOption(
      new Option(
        '--secrets-key-file <file>',
        'key file sealing notification target secrets (AES-256-GCM; one base64 key per line, the first seals: ' +
          'openssl rand -base64 32); the monitors evaluator needs the same file. Without it, storing a target is ' +
          'refused',
      ).env('UNDERSTORY_MONITORS_SECRETS_KEY_FILE'),
    )
    .option(
      '--replica-id <id>',
      'name of this portal replica (default: $HOSTNAME, the pod name in a cluster)',
    )
    .option('--admin-host <host>', 'address of the /healthz and /metrics endpoint', '127.0.0.1')
    .option(
      '--admin-port <port>',
      'port of the /healthz and /metrics endpoint (0: any free port)',
      parsePort,
      9472,
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  UNDERSTORY_INSTALL_TOKEN=ust_cit_... understory portal --edge-url https://edge.example.com \\\n' +
        '    --vm-url http://victoria-metrics:8428 --clickhouse http://clickhouse:8123\n' +
        '  understory portal --edge-url http://127.0.0.1:8787 --install-token-file token.txt --vm-url http://127.0.0.1:8428\n' +
        '\nIn `understory up` the portal runs inside `understory incloud --edge-url ... --install-token-file ...`,\n' +
        'sharing its embedded ClickHouse (chdb allows one process per data directory).\n',
    )
    .action(async (opts: Options) => {
      // A token file is read again before every connection, so a rotated Secret is picked up without a restart.
      const installToken = opts.installTokenFile
        ? undefined
        : (opts.installToken ?? process.env.UNDERSTORY_INSTALL_TOKEN);
      if (!installToken && !opts.installTokenFile)
        program.error('portal: give the install token (--install-token-file or UNDERSTORY_INSTALL_TOKEN)');
      let clickhouse: ClickhouseStore | undefined;
      if (opts.clickhouse && /^https?:\/\//.test(opts.clickhouse)) {
        const password = opts.clickhousePasswordFile
          ? readFileSync(opts.clickhousePasswordFile, 'utf8').trim()
          : undefined;
        clickhouse = new ServerStore({ url: opts.clickhouse, username: opts.clickhouseUser, password });
      } else if (opts.clickhouse) {
        const chdb = new ChdbStore(opts.clickhouse);
        chdb.open();
        clickhouse = chdb;
      }
      let targetSecrets: TargetSecretKeys | undefined;
      try {
        targetSecrets = opts.secretsKeyFile ? TargetSecretKeys.fromFile(opts.secretsKeyFile) : undefined;
      } catch (err) {
        program.error(`portal: ${(err as Error).message}`);
      }
      const components: Component[] = [];
      const admin = new AdminServer(() => components, opts.adminHost, opts.adminPort, 'portal');
      components.push(
        new Portal({
          edgeUrl: opts.edgeUrl,
          installToken,
          installTokenFile: opts.installTokenFile,
          replicaId: opts.replicaId,
          victoriaMetricsUrl: opts.vmUrl,
          clickhouse,
          registry: admin.registry,
          targetSecrets,
        }),
      );
      await startAll(components);
      await admin.listen();
      await onShutdownSignal(async () => {
        await admin.close();
        await shutdownAll(components);
        await clickhouse?.close();
      });
    });
}
