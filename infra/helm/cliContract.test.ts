import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Rendered, renderScenarios } from './chartRender.ts';
import { podSpecs } from './podSpecs.ts';

// The chart passes flags to `understory <command>`; each must be one the command really has (its --help), so a
// renamed flag fails here instead of crash-looping a pod. Flags the chart needs but the command does not have
// yet are listed, with why, in PENDING (and in infra/README.md).
const LAUNCHER = fileURLToPath(new URL('../../bin/understory.mjs', import.meta.url));
const PENDING: Record<string, string[]> = {
  // Replicated ClickHouse: Replicated database + Replicated*MergeTree engines (infra/README.md).
  migrate: ['--replicated', '--cluster'],
};

let renders = new Map<string, Rendered>();
beforeAll(async () => {
  renders = await renderScenarios();
});

/** Subcommand -> flag names the chart passes to it, over every scenario. */
function chartInvocations(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const { manifests } of renders.values()) {
    for (const { pod } of podSpecs(manifests)) {
      for (const c of pod.containers) {
        if (c.command?.[0] !== 'understory') continue;
        const [sub, ...args] = c.args ?? [];
        const flags = out.get(sub!) ?? new Set<string>();
        for (const a of args) if (a.startsWith('--')) flags.add(a.split('=')[0]!);
        out.set(sub!, flags);
      }
    }
  }
  return out;
}

function help(sub: string): Promise<{ code: number; text: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [LAUNCHER, sub, '--help'], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, text: stdout + stderr });
    });
  });
}

describe('the flags the chart passes exist in the CLI', () => {
  it('every understory command of the chart accepts its flags', async () => {
    const invocations = chartInvocations();
    expect([...invocations.keys()].sort()).toEqual([
      'ingester',
      'k8s-watcher',
      'migrate',
      'portal',
      'sensor',
    ]);
    const helps = await Promise.all(
      [...invocations.keys()].map(async (sub) => [sub, await help(sub)] as const),
    );
    const unknown: string[] = [];
    for (const [sub, h] of helps) {
      expect(h.code, `understory ${sub} --help: ${h.text}`).toBe(0);
      const known = new Set([...h.text.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]!));
      for (const f of invocations.get(sub)!) {
        if (!known.has(f) && !PENDING[sub]?.includes(f)) unknown.push(`understory ${sub} ${f}`);
      }
    }
    expect(unknown).toEqual([]);
  });
});
