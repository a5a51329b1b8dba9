import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessSpec } from '../../cli/up/supervisor.ts';
import { vmalertArgs } from './vmalertArgs.ts';

/**
 * What `understory up` adds for monitors: flags that run the evaluator inside the in-cluster process (it needs
 * the embedded ClickHouse) and vmalert as its own supervised process. Ports sit next to the in-cluster admin
 * port so parallel `up` runs with their own ports do not collide: vmalert on admin+1, the evaluator's alert
 * receiver on admin+2 (9465 and 9466 by default), both on loopback.
 */
export function monitorsPlan(o: { dataDir: string; vmUrl: string; adminPort: number }): {
  incloudArgs: string[];
  vmalert: ProcessSpec;
} {
  const vmalertPort = o.adminPort + 1;
  const alertsPort = o.adminPort + 2;
  const rulesFile = join(o.dataDir, 'vmalert', 'rules.json');
  const vmalertUrl = `http://127.0.0.1:${vmalertPort}`;
  const vmalert = vmalertArgs({
    rulesFile,
    datasourceUrl: o.vmUrl,
    notifierUrl: `http://127.0.0.1:${alertsPort}`,
    listenAddr: `127.0.0.1:${vmalertPort}`,
    evaluationInterval: '30s',
  });
  return {
    incloudArgs: [
      '--vmalert-url',
      vmalertUrl,
      '--monitors-rules-file',
      rulesFile,
      '--alerts-port',
      String(alertsPort),
    ],
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
