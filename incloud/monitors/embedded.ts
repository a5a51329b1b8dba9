/**
 * The monitors evaluator inside `understory incloud` (the one-machine shape `understory up` runs): it must share
 * that process's embedded ClickHouse (chdb opens a data directory in one process only). Registered by
 * cli/commands/incloud.ts; nothing runs without `--vmalert-url`. vmalert itself is a separate process (`up`
 * starts it from cli/up/plan.ts with vmalertArgs()).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { InCloudProcess } from '../inCloudProcess.ts';
import { MonitorEvaluator } from './evaluator.ts';
import { TargetSecretKeys } from './targetSecrets.ts';

export interface EmbeddedMonitorFlags {
  vmalertUrl?: string;
  monitorsRulesFile?: string;
  alertsPort?: number;
  secretsKeyFile?: string;
}

/** The target secrets keys of `--secrets-key-file` (shared by the portal and the evaluator of this process). */
export function embeddedTargetSecrets(flags: EmbeddedMonitorFlags): TargetSecretKeys | undefined {
  return flags.secretsKeyFile ? TargetSecretKeys.fromFile(flags.secretsKeyFile) : undefined;
}

export function addEmbeddedMonitorOptions(cmd: Command, parsePort: (v: string) => number): Command {
  return cmd
    .option(
      '--vmalert-url <url>',
      'also run the monitors evaluator: vmalert at this URL evaluates the PromQL monitors (needs ' +
        '--monitors-rules-file and --alerts-port); SQL monitors run in this process',
    )
    .option('--monitors-rules-file <file>', 'the rules file the evaluator writes and vmalert reads (-rule)')
    .option(
      '--alerts-port <port>',
      "port of the evaluator's Alertmanager-compatible receiver (vmalert's -notifier.url), on loopback",
      parsePort,
    )
    .addOption(
      new Option(
        '--secrets-key-file <file>',
        'key file sealing notification target secrets in ClickHouse (AES-256-GCM; one base64 key per line, the ' +
          'first seals, all open: openssl rand -base64 32); used by the portal and the evaluator',
      )
        .env('UNDERSTORY_MONITORS_SECRETS_KEY_FILE')
        // Checked while parsing, so a bad key file is a usage error (exit 1, one line), not a crash later.
        .argParser((file: string) => {
          try {
            TargetSecretKeys.fromFile(file);
          } catch (err) {
            throw new InvalidArgumentError((err as Error).message);
          }
          return file;
        }),
    );
}

/** The evaluator to add to `proc`, or undefined when the flags do not ask for one. */
export function embeddedMonitors(
  flags: EmbeddedMonitorFlags,
  proc: InCloudProcess,
  vmUrl: string,
  secrets?: TargetSecretKeys,
) {
  if (!flags.vmalertUrl) return undefined;
  if (!flags.monitorsRulesFile || flags.alertsPort === undefined)
    throw new Error(
      'cannot run the monitors evaluator: give --vmalert-url, --monitors-rules-file and --alerts-port',
    );
  return new MonitorEvaluator({
    store: proc.clickhouse.store,
    vmalert: { url: flags.vmalertUrl, rulesFile: flags.monitorsRulesFile, datasourceUrl: vmUrl },
    receiver: { host: '127.0.0.1', port: flags.alertsPort },
    registry: proc.admin.registry,
    secrets,
  });
}
