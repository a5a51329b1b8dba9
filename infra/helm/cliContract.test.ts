import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Rendered, renderScenarios } from './chartRender.ts';
import { podSpecs } from './podSpecs.ts';

// The chart passes flags to `understory <command>`; each must be one the command really has (its --help), so a
// renamed flag fails here instead of crash-looping a pod. Flags the chart needs but the command does not have
// yet are listed, with why, in PENDING (and in infra/README.md).
const LAUNCHER = fileURLToPath(new URL('../../bin/understory.mjs', import.meta.url));
const PENDING: Record<string, string[]> = {};
// Environment variables the chart sets that the command does not read yet, with why.
// None since the sensor reads UNDERSTORY_INGEST_TOKEN_FILE, UNDERSTORY_CLUSTER_NAME and UNDERSTORY_HOST_PROC
// (dee0673); sensor/live/sensorChart.contract.test.ts also runs `understory sensor --check-config` with them.
const PENDING_ENV: Record<string, string[]> = {};

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

const helps = new Map<string, Promise<{ code: number; text: string }>>();

/** `understory <sub> --help`, run once per command for both tests. */
function help(sub: string): Promise<{ code: number; text: string }> {
  const known = helps.get(sub);
  if (known) return known;
  const h = runHelp(sub);
  helps.set(sub, h);
  return h;
}

function runHelp(sub: string): Promise<{ code: number; text: string }> {
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
      'monitors',
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

  it('every UNDERSTORY_* variable the chart gives an understory command is one that command reads', async () => {
    const envs = new Map<string, Set<string>>();
    for (const { manifests } of renders.values()) {
      for (const { pod } of podSpecs(manifests)) {
        for (const c of pod.containers) {
          if (c.command?.[0] !== 'understory') continue;
          const sub = c.args?.[0] ?? '';
          const names = envs.get(sub) ?? new Set<string>();
          for (const e of (c as { env?: { name: string }[] }).env ?? []) {
            if (e.name.startsWith('UNDERSTORY_')) names.add(e.name);
          }
          envs.set(sub, names);
        }
      }
    }
    expect(envs.get('sensor')?.has('UNDERSTORY_TRACE_BASELINE_RATE')).toBe(true); // from sensor.settings
    const unknown: string[] = [];
    await Promise.all([...envs.keys()].map(help));
    for (const [sub, names] of envs) {
      const h = await help(sub);
      const known = new Set([...h.text.matchAll(/UNDERSTORY_[A-Z0-9_]+/g)].map((m) => m[0]));
      for (const n of names) {
        if (!known.has(n) && !PENDING_ENV[sub]?.includes(n)) unknown.push(`understory ${sub}: ${n}`);
      }
    }
    expect(unknown).toEqual([]);
  }, 120_000);
});
