import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorInput, targetInput } from '../../../lib/tunnel/monitors.ts';
import { ChdbStore } from '../../clickhouse/chdbStore.ts';
import { migrate } from '../../clickhouse/migrations.ts';
import { freePort } from '../../testing/ports.ts';
import { MonitorEvaluator, type MonitorEvaluatorOptions } from '../evaluator.ts';
import { TargetSecretKeys } from '../targetSecrets.ts';
import { VmalertProcess } from './vmalertProcess.ts';

/** chdb with the project's migrations in a temp dir. */
export async function openStore() {
  const dir = mkdtempSync(join(tmpdir(), 'understory-monitors-'));
  const store = new ChdbStore(join(dir, 'ch'));
  store.open();
  await migrate(store);
  return {
    store,
    dir,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One key for a test file's portal and evaluators (they must share it, as in a cluster). */
export const TEST_KEYS = new TargetSecretKeys([randomBytes(32)]);

/** Fast settings for tests: short sync, short group wait, quick retries; the test key. */
export const FAST: Partial<MonitorEvaluatorOptions> = {
  secrets: TEST_KEYS,
  syncIntervalMs: 300,
  tickMs: 100,
  notifier: {
    groupWaitMs: 200,
    retry: { initialMs: 100, maxMs: 500, maxAttempts: 8 },
    attemptTimeoutMs: 5000,
  },
};

/**
 * An evaluator wired to a real vmalert (which queries `vmUrl`): vmalert starts first on an empty rules file,
 * with -notifier.url pointing at the evaluator's receiver port chosen up front.
 */
export async function startWithVmalert(store: ChdbStore, dir: string, vmUrl: string) {
  const rulesFile = join(dir, 'rules.json');
  writeFileSync(rulesFile, '{"groups":[]}\n');
  const receiverPort = await freePort();
  const vmalert = new VmalertProcess({
    rulesFile,
    datasourceUrl: vmUrl,
    notifierUrl: `http://127.0.0.1:${receiverPort}`,
    interval: '1s',
  });
  await vmalert.start();
  const evaluator = new MonitorEvaluator({
    store,
    vmalert: { url: vmalert.url, rulesFile, datasourceUrl: vmUrl },
    receiver: { host: '127.0.0.1', port: receiverPort },
    ...FAST,
  });
  await evaluator.start();
  return {
    evaluator,
    vmalert,
    stop: async () => {
      await evaluator.shutdown();
      await vmalert.stop();
    },
  };
}

export function monitor(id: string, input: Record<string, unknown>) {
  return { ...monitorInput.parse(input), id };
}

export function target(id: string, input: Record<string, unknown>) {
  return { ...targetInput.parse(input), id };
}

export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  every: () => Promise<void> = async () => {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await every();
    await new Promise((r) => setTimeout(r, 100));
  }
}
