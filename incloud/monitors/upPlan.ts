import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessSpec } from '../../cli/up/supervisor.ts';
import { generateKeyFileContent } from './targetSecrets.ts';
import { vmalertArgs } from './vmalertArgs.ts';

/**
 * What `understory up` adds for monitors: flags that run the evaluator inside the in-cluster process (it needs
 * the embedded ClickHouse) and vmalert as its own supervised process. Ports sit next to the in-cluster admin
 * port so parallel `up` runs with their own ports do not collide: vmalert on admin+1, the evaluator's alert
 * receiver on admin+2 (9465 and 9466 by default), both on loopback. The key sealing notification target secrets
 * is generated once into `<data-dir>/monitors/secrets.key` (0600) by `prepareIncloud`, run before the in-cluster
 * process starts; it is kept across runs (losing it makes the stored targets unreadable, not deleted).
 */
export function monitorsPlan(o: { dataDir: string; vmUrl: string; adminPort: number }): {
  incloudArgs: string[];
  prepareIncloud: () => Promise<void>;
  vmalert: ProcessSpec;
  /** vmalert's own /metrics, for vmagent to scrape (rule evaluation errors show there). */
  vmalertMetricsUrl: string;
} {
  const vmalertPort = o.adminPort + 1;
  const alertsPort = o.adminPort + 2;
  const rulesFile = join(o.dataDir, 'vmalert', 'rules.json');
  const secretsKeyFile = join(o.dataDir, 'monitors', 'secrets.key');
  const vmalertUrl = `http://127.0.0.1:${vmalertPort}`;
  const vmalert = vmalertArgs({
    rulesFile,
    datasourceUrl: o.vmUrl,
    notifierUrl: `http://127.0.0.1:${alertsPort}`,
    listenAddr: `127.0.0.1:${vmalertPort}`,
    evaluationInterval: '30s',
  });
  return {
    vmalertMetricsUrl: `${vmalertUrl}/metrics`,
    incloudArgs: [
      '--vmalert-url',
      vmalertUrl,
      '--monitors-rules-file',
      rulesFile,
      '--alerts-port',
      String(alertsPort),
      '--secrets-key-file',
      secretsKeyFile,
    ],
    prepareIncloud: async () => {
      if (existsSync(secretsKeyFile)) return;
      mkdirSync(join(o.dataDir, 'monitors'), { recursive: true, mode: 0o700 });
      // 'wx': never overwrite a key that appeared meanwhile (that would orphan every sealed target).
      writeFileSync(secretsKeyFile, generateKeyFileContent(), { mode: 0o600, flag: 'wx' });
    },
    vmalert: {
      name: 'vmalert',
      command: vmalert.command,
      args: vmalert.args,
      healthUrl: `${vmalertUrl}/health`,
      url: vmalertUrl,
      // vmalert refuses to start without its rules file; the evaluator rewrites it on its first sync.
      prepare: async () => {
        if (existsSync(rulesFile)) return;
        mkdirSync(join(o.dataDir, 'vmalert'), { recursive: true });
        writeFileSync(rulesFile, '{"groups":[]}\n');
      },
    },
  };
}
