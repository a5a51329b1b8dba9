import { existsSync, readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { ChdbStore } from '../../incloud/clickhouse/chdbStore.ts';
import { ServerStore } from '../../incloud/clickhouse/serverStore.ts';
import type { ClickhouseStore } from '../../incloud/clickhouse/store.ts';
import { MonitorEvaluator } from '../../incloud/monitors/evaluator.ts';
import { TargetSecretKeys } from '../../incloud/monitors/targetSecrets.ts';
import { writeRulesFile } from '../../incloud/monitors/vmalertRules.ts';
import { AdminServer } from '../../lib/adminServer.ts';
import { type Component, shutdownAll, startAll } from '../../lib/component.ts';
import { onShutdownSignal } from '../../lib/signals.ts';
import { parsePort } from '../options.ts';

interface Options {
  clickhouse: string;
  clickhouseUser: string;
  clickhousePasswordFile?: string;
  vmUrl: string;
  vmalertUrl: string;
  rulesFile: string;
  secretsKeyFile: string;
  alertsHost: string;
  alertsPort: number;
  adminHost: string;
  adminPort: number;
}

export function register(program: Command): void {
  program
    .command('monitors')
    .description(
      "evaluate the monitors in the cluster: write the PromQL ones as vmalert rules and take vmalert's alerts " +
        '(Alertmanager-compatible receiver), run the SQL ones on ClickHouse (read-only, bounded), record alert ' +
        'history and send notifications (webhooks, Slack); run ONE replica next to a vmalert',
    )
    .requiredOption(
      '--clickhouse <url-or-dir>',
      'ClickHouse: a server URL (http://clickhouse:8123) or an embedded (chdb) data directory no other process has open',
    )
    .option('--clickhouse-user <name>', 'ClickHouse server user', 'default')
    .option('--clickhouse-password-file <file>', 'file holding the ClickHouse server password')
    .requiredOption(
      '--vm-url <url>',
      "VictoriaMetrics (vmalert's datasource), to check PromQL before vmalert gets it",
    )
    .requiredOption('--vmalert-url <url>', 'vmalert, reloaded through /-/reload when monitors change')
    .requiredOption(
      '--rules-file <file>',
      'the rules file vmalert reads (its -rule flag); created if missing',
    )
    .addOption(
      new Option(
        '--secrets-key-file <file>',
        "key file that opens the notification targets' sealed secrets (the portal's --secrets-key-file): " +
          'one base64 AES-256 key per line (openssl rand -base64 32); the first seals, every line opens. ' +
          'Rotation: put a new key first, keep the old one below, restart the portal and this; targets are ' +
          're-sealed on the next sync; drop the old line once monitors_target_secrets{state="stale"} is 0',
      )
        .env('UNDERSTORY_MONITORS_SECRETS_KEY_FILE')
        .makeOptionMandatory(),
    )
    .option('--alerts-host <host>', "address of the alert receiver (vmalert's -notifier.url)", '127.0.0.1')
    .option('--alerts-port <port>', 'port of the alert receiver (POST /api/v2/alerts)', parsePort, 9093)
    .option('--admin-host <host>', 'address of the /healthz and /metrics endpoint', '127.0.0.1')
    .option(
      '--admin-port <port>',
      'port of the /healthz and /metrics endpoint (0: any free port)',
      parsePort,
      9473,
    )
    .addHelpText(
      'after',
      '\nExample (a pod with vmalert as a sidecar sharing /rules):\n' +
        '  understory monitors --clickhouse http://clickhouse:8123 --clickhouse-password-file /secrets/ch \\\n' +
        '    --vm-url http://victoria-metrics:8428 --vmalert-url http://127.0.0.1:8880 --rules-file /rules/rules.json \\\n' +
        '    --secrets-key-file /secrets/monitors/key\n' +
        '  vmalert -rule=/rules/rules.json -datasource.url=http://victoria-metrics:8428 \\\n' +
        '    -notifier.url=http://127.0.0.1:9093 -httpListenAddr=127.0.0.1:8880\n' +
        '\nIn `understory up` the evaluator runs inside `understory incloud` (it shares the embedded ClickHouse).\n',
    )
    .action(async (opts: Options) => {
      let secrets: TargetSecretKeys;
      try {
        secrets = TargetSecretKeys.fromFile(opts.secretsKeyFile);
      } catch (err) {
        program.error(`monitors: ${(err as Error).message}`);
      }
      let store: ClickhouseStore;
      if (/^https?:\/\//.test(opts.clickhouse)) {
        const password = opts.clickhousePasswordFile
          ? readFileSync(opts.clickhousePasswordFile, 'utf8').trim()
          : undefined;
        store = new ServerStore({ url: opts.clickhouse, username: opts.clickhouseUser, password });
      } else {
        const chdb = new ChdbStore(opts.clickhouse);
        chdb.open();
        store = chdb;
      }
      // vmalert refuses to start without its rules file: make sure one exists before either of us runs.
      if (!existsSync(opts.rulesFile)) await writeRulesFile(opts.rulesFile, '{"groups":[]}\n');
      const components: Component[] = [];
      const admin = new AdminServer(() => components, opts.adminHost, opts.adminPort, 'monitors');
      components.push(
        new MonitorEvaluator({
          store,
          vmalert: { url: opts.vmalertUrl, rulesFile: opts.rulesFile, datasourceUrl: opts.vmUrl },
          receiver: { host: opts.alertsHost, port: opts.alertsPort },
          registry: admin.registry,
          secrets,
        }),
      );
      await startAll(components);
      await admin.listen();
      await onShutdownSignal(async () => {
        await admin.close();
        await shutdownAll(components);
        await store.close();
      });
    });
}
