/**
 * The portal inside `understory incloud` (the one-machine shape used by `understory up`). It must live in that
 * process: chdb lets one process open a data directory, so a separate `understory portal` could not read the
 * embedded ClickHouse. Registered by cli/commands/incloud.ts with two flags; nothing happens without them.
 */
import type { Command } from 'commander';
import type { Component } from '../../lib/component.ts';
import type { InCloudProcess } from '../inCloudProcess.ts';
import type { TargetSecretKeys } from '../monitors/targetSecrets.ts';
import { Portal } from './portal.ts';

export interface EmbeddedPortalFlags {
  edgeUrl?: string;
  installTokenFile?: string;
}

export function addEmbeddedPortalOptions(cmd: Command): Command {
  return cmd
    .option(
      '--edge-url <url>',
      'also run the portal, dialling out to this edge (needs --install-token-file); it answers from the ' +
        "process's own ClickHouse and from --vm-url",
    )
    .option(
      '--install-token-file <file>',
      "the portal's install token, read again at every reconnection (it may appear after the start)",
    );
}

/** The portal component to add to `proc`, or undefined when the flags do not ask for one. */
export function embeddedPortal(
  flags: EmbeddedPortalFlags,
  proc: InCloudProcess,
  vmUrl: string,
  targetSecrets?: TargetSecretKeys,
) {
  if (!flags.edgeUrl && !flags.installTokenFile) return undefined;
  if (!flags.edgeUrl || !flags.installTokenFile)
    throw new Error('cannot run the portal: give both --edge-url and --install-token-file');
  const portal: Component = new Portal({
    edgeUrl: flags.edgeUrl,
    installTokenFile: flags.installTokenFile,
    victoriaMetricsUrl: vmUrl,
    clickhouse: proc.clickhouse.store,
    registry: proc.admin.registry,
    targetSecrets,
  });
  return portal;
}
