/**
 * The `understory sensor` processes the whole-sensor benchmark measures (sensor.bench.ts): which build runs
 * (this checkout, a reference commit built in a temporary directory, a CPU-budget variant), how it is
 * started against the benchmark's sink, and the counters read from its /metrics.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SENSOR_NODE_FLAGS } from '../../sensor/nodeFlags.ts';
import { waitFor } from '../../sensor/testing/servers.ts';

const repo = join(import.meta.dirname, '../..');

export interface Sensor {
  child: ChildProcess;
  admin: string;
}

/** A checkout whose `understory sensor` is measured: this one, or a reference commit's (BENCH_REFERENCE). */
export interface Build {
  label: string;
  dir: string;
  /** Node/V8 flags of its sensor process. */
  nodeArgs: string[];
  /** Extra `understory sensor` flags (a CPU budget variant of this checkout). */
  sensorArgs?: string[];
  /** A reference commit: its cost is compared with this checkout's (`*_vs_reference`). */
  reference?: boolean;
  /**
   * A control in the same rounds (BENCH_CONTROLS): `none` runs the sensor's windows, warm-up included, with
   * no sensor at all (how far two no-sensor windows differ here); `idle` attaches this checkout's sensor
   * to a sleeping process only, so its hooks run on every call of the service and the load generator and
   * stop at the process filter (the floor no share of connections can go below).
   */
  control?: 'none' | 'idle';
  /** The pids it captures instead of the service's (the `idle` control's sleeping process). */
  pids?: number[];
}

/** `BENCH_SENSOR_NODE_ARGS` / `BENCH_REFERENCE_NODE_ARGS` (space-separated; empty = no flags), else ours. */
export function nodeArgs(variable: string): string[] {
  const v = process.env[variable];
  return v === undefined ? [...SENSOR_NODE_FLAGS] : v.split(' ').filter((a) => a !== '');
}

/**
 * The reference commit's tree in `dir` with its own native build (node_modules shared with this checkout);
 * compiled by its own scripts/build-js.mjs when `compiled` (BENCH_SENSOR_BUILD=js: both builds as the images
 * run them).
 */
export function buildReference(ref: string, dir: string, compiled: boolean): Build {
  const tar = join(dir, 'src.tar');
  execFileSync('git', ['archive', '--output', tar, ref], { cwd: repo });
  execFileSync('tar', ['-xf', tar, '-C', dir]);
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(dir, 'scripts/build-native.mjs')], { cwd: dir, stdio: 'inherit' });
  const args = nodeArgs('BENCH_REFERENCE_NODE_ARGS');
  if (!compiled) return { label: ref, dir, nodeArgs: args };
  const tree = join(dir, 'js');
  execFileSync(process.execPath, [join(dir, 'scripts/build-js.mjs'), tree], { cwd: dir, stdio: 'inherit' });
  symlinkSync(join(repo, 'node_modules'), join(tree, 'node_modules'));
  return { label: ref, dir: tree, nodeArgs: args };
}

/** `understory sensor` of `build` capturing `pids`, exporting to `sink`; resolves with its admin URL. */
export async function startSensor(pids: number[], sink: string, build: Build): Promise<Sensor> {
  const cwd = build.dir;
  const args = [
    ...build.nodeArgs,
    'bin/understory.mjs',
    'sensor',
    '--pid',
    pids.join(','),
    '--remote-write-url',
    `${sink}/api/v1/write`,
    '--otlp-url',
    sink,
    '--metrics-interval-ms',
    '5000',
    '--admin-port',
    '0',
    '--stats-interval',
    '0',
    '--no-logs',
    // No budget unless the variant sets one (the default would follow this machine's cgroup quota); ring
    // drops still shed connections, as by default.
    ...(build.sensorArgs ?? (build.reference ? [] : ['--cpu-limit', '0'])),
  ];
  // The flags go on the command line (build.nodeArgs); none inherited from the bench's own NODE_OPTIONS.
  const env = { ...process.env, NODE_OPTIONS: '' };
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => {
    log = (log + b.toString()).slice(-20_000);
  });
  const admin = await waitFor(
    'understory sensor',
    async () => {
      if (child.exitCode !== null) throw new Error(`sensor exited ${child.exitCode}: ${log}`);
      const m = /\/healthz and \/metrics on (http:\/\/\S+)/.exec(log);
      if (!m) throw new Error('not yet');
      return m[1]!;
    },
    90_000,
    () => log,
  );
  return { child, admin };
}

/**
 * API calls stitched, ring-buffer drops so far, the share of connections captured and the sensor's own
 * estimate of its programs' time on traced calls, from /metrics.
 */
export async function counters(
  admin: string,
): Promise<{ calls: number; drops: number; keep: number; kernelSeconds: number }> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  let calls = 0;
  for (const m of text.matchAll(/^sensor_tracker_calls_total\{[^}]*\} (\d+)/gm)) calls += Number(m[1]);
  const value = (name: string, none: number) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? none);
  return {
    calls,
    drops: value('understory_sensor_capture_drops_total', Number.NaN),
    keep: value('understory_sensor_capture_keep_ratio', 1),
    kernelSeconds: value('understory_sensor_capture_kernel_seconds_total', Number.NaN),
  };
}

export async function stopSensor(s: Sensor): Promise<void> {
  const done = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await done;
}
