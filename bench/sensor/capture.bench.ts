/**
 * Cost of the eBPF capture to the applications it observes, measured in one run with and without the
 * sensor: (a) a Node.js HTTP service answering ~1 KB of JSON, (b) nginx answering a few bytes (a request
 * costs nginx ~10 us, so every hook shows). Each is driven on loopback by wrk at saturation and by hey
 * at a fixed rate. The sensor is a separate process (sensorProcess.ts) capturing the service's pids.
 *
 * Reported (bench/results.tsv, with the no-sensor figure as baseline): throughput, latency, application
 * CPU per request, in-kernel cost per request (bpf_stats run_time_ns / requests, all capture programs),
 * sensor user-space CPU per request and per 10k requests/s, sensor RSS.
 * Run: npm run bench capture   (as root; ~4 minutes; BENCH_SECONDS, BENCH_ROUNDS change the length;
 * BENCH_SCENARIOS=node|nginx runs one; BENCH_REFERENCE=<git ref> also measures that commit's build of
 * the sensor in the same run and records this build's costs against it as `*_vs_reference`;
 * BENCH_REFERENCE_OPTIONS='{"wakeBytes":262144}' gives the reference's sensor those capture options;
 * BENCH_MSG_START_CAPS=256,512 also measures this build with those message-start caps, as `@msgStartCap=N`)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNginx, startNodeHttp, waitFor } from '../../sensor/testing/servers.ts';
import { record } from '../harness.ts';
import {
  bpfRunTime,
  children,
  cpuSeconds,
  hey,
  type Load,
  rssMb,
  SECONDS,
  withBpfStats,
  wrk,
} from './load.ts';

const repo = join(import.meta.dirname, '../..');

/** The sensor (sensorProcess.ts) capturing only `pids` (and their future children), once it is capturing. */
async function startSensor(pids: number[], build: SensorBuild): Promise<ChildProcess> {
  const args = ['--import', 'tsx', join(import.meta.dirname, 'sensorProcess.ts'), ...pids.map(String)];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (build.addon) env.SENSOR_ADDON = build.addon;
  if (build.options) env.SENSOR_OPTIONS = JSON.stringify(build.options);
  const child = spawn(process.execPath, args, { cwd: repo, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => {
    log += b.toString();
  });
  await waitFor(
    'the sensor',
    async () => {
      if (child.exitCode !== null) throw new Error(`sensor exited ${child.exitCode}: ${log}`);
      if (!log.includes('capture started')) throw new Error('not yet');
    },
    60_000,
    () => log,
  );
  return child;
}

type ProgramTimes = Map<string, { ns: number; runs: number }>;

/** Per-program run time and count so far, from the sensor (it prints them on SIGUSR2). */
function programTimes(child: ChildProcess): Promise<ProgramTimes> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('cannot read program stats: no answer')), 10_000);
    const onData = (b: Buffer) => {
      buf += b.toString();
      const line = buf.split('\n').find((l) => l.startsWith('programs '));
      if (!line || !buf.includes('\n', buf.indexOf(line))) return;
      child.stderr!.off('data', onData);
      clearTimeout(timer);
      const list = JSON.parse(line.slice('programs '.length)) as {
        name: string;
        runCount: number;
        runTimeNs: number;
      }[];
      resolve(new Map(list.map((p) => [p.name, { ns: p.runTimeNs, runs: p.runCount }])));
    };
    child.stderr!.on('data', onData);
    child.kill('SIGUSR2');
  });
}

/** "exit_writev 812 ns/req (1.00 runs)" for every program that ran, costliest first. */
function breakdown(a: ProgramTimes, b: ProgramTimes, requests: number): string {
  return [...b]
    .map(([name, t]) => ({
      name,
      ns: t.ns - (a.get(name)?.ns ?? 0),
      runs: t.runs - (a.get(name)?.runs ?? 0),
    }))
    .filter((p) => p.runs > 0)
    .sort((x, y) => y.ns - x.ns)
    .map((p) => `${p.name} ${Math.round(p.ns / requests)} ns/req (${(p.runs / requests).toFixed(2)} runs)`)
    .join(', ');
}

/**
 * BENCH_REFERENCE=<git ref>: builds that commit's eBPF program and addon in `dir` (removed afterwards), so
 * the same run measures it next to this checkout's build. Returns the addon path.
 */
function buildReference(ref: string, dir: string): string {
  const tar = join(dir, 'src.tar');
  execFileSync(
    'git',
    ['archive', '--output', tar, ref, 'sensor/bpf', 'sensor/native', 'scripts/build-native.mjs'],
    {
      cwd: repo,
    },
  );
  execFileSync('tar', ['-xf', tar, '-C', dir]);
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(dir, 'scripts/build-native.mjs')], { cwd: dir, stdio: 'inherit' });
  return join(dir, 'sensor/native/build/Release/understory_capture.node');
}

/** Stops the sensor; returns the counters it prints on SIGTERM. */
async function stopSensor(child: ChildProcess): Promise<string> {
  let out = '';
  child.stderr!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
  return out.trim().split('\n').at(-1) ?? '';
}

/**
 * Program time per second while the service is idle: hooks run for every process on the machine (and
 * other work shares this machine), so this background rate is subtracted from the in-kernel cost.
 */
async function bpfBackground(sensorPid: number): Promise<number> {
  const a = bpfRunTime(sensorPid);
  await new Promise((r) => setTimeout(r, 2000));
  return (bpfRunTime(sensorPid).ns - a.ns) / 2;
}

interface Measured {
  load: Load;
  appCpu: number;
  sensorCpu?: number;
  bpf?: { ns: number; runs: number };
  sensorRss?: number;
}

async function measure(run: () => Promise<Load>, appPids: number[], sensorPid?: number): Promise<Measured> {
  const appCpu0 = appPids.reduce((s, p) => s + cpuSeconds(p), 0);
  const sensorCpu0 = sensorPid ? cpuSeconds(sensorPid) : 0;
  const bpf0 = sensorPid ? bpfRunTime(sensorPid) : undefined;
  const load = await run();
  const appCpu = appPids.reduce((s, p) => s + cpuSeconds(p), 0) - appCpu0;
  if (!sensorPid) return { load, appCpu };
  const bpf1 = bpfRunTime(sensorPid);
  return {
    load,
    appCpu,
    sensorCpu: cpuSeconds(sensorPid) - sensorCpu0,
    bpf: { ns: bpf1.ns - bpf0!.ns, runs: bpf1.runs - bpf0!.runs },
    sensorRss: rssMb(sensorPid),
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Averages of the rounds' figures. */
function avg(ms: Measured[]): Measured {
  const load = (k: keyof Load) => mean(ms.map((m) => m.load[k]));
  const opt = (f: (m: Measured) => number | undefined) =>
    ms[0] && f(ms[0]) !== undefined ? mean(ms.map((m) => f(m)!)) : undefined;
  const bpfNs = opt((m) => m.bpf?.ns);
  return {
    load: { rps: load('rps'), p50Ms: load('p50Ms'), p99Ms: load('p99Ms'), requests: load('requests') },
    appCpu: mean(ms.map((m) => m.appCpu)),
    sensorCpu: opt((m) => m.sensorCpu),
    bpf: bpfNs === undefined ? undefined : { ns: bpfNs, runs: opt((m) => m.bpf?.runs)! },
    sensorRss: opt((m) => m.sensorRss),
  };
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

/**
 * A build of the sensor to measure: this checkout's, a reference commit's (BENCH_REFERENCE), or this
 * checkout's with another message-start cap (BENCH_MSG_START_CAPS).
 */
interface SensorBuild {
  label: string;
  addon?: string;
  /** SensorCapture options for this build's sensor process. */
  options?: Record<string, unknown>;
}

interface BuildRuns {
  with: Measured[];
  withFixed: Measured[];
  background: number;
  programs: string;
  sensorStats: string;
}

/** One round with one sensor build: background, then wrk and hey while it captures. */
async function measureBuild(
  build: SensorBuild,
  runs: BuildRuns,
  url: string,
  appPids: number[],
  rate: number,
) {
  const sensor = await startSensor(appPids, build);
  try {
    runs.background += (await bpfBackground(sensor.pid!)) / ROUNDS;
    const before = await programTimes(sensor);
    const sat = await measure(() => wrk(url), appPids, sensor.pid);
    runs.with.push(sat);
    runs.programs = breakdown(before, await programTimes(sensor), sat.load.requests);
    runs.withFixed.push(await measure(() => hey(url, rate), appPids, sensor.pid));
  } finally {
    runs.sensorStats = await stopSensor(sensor);
  }
}

async function scenario(name: string, url: string, appPids: number[], builds: SensorBuild[]): Promise<void> {
  // Runs without the sensor and with each build alternate, so drift in the machine's load hits all alike.
  const base: Measured[] = [];
  const baseFixed: Measured[] = [];
  const perBuild = builds.map(
    (): BuildRuns => ({ with: [], withFixed: [], background: 0, programs: '', sensorStats: '' }),
  );
  let rate = 0;
  for (let round = 0; round < ROUNDS; round++) {
    base.push(await measure(() => wrk(url), appPids));
    rate ||= Math.max(100, Math.round((base[0]!.load.rps * 0.5) / 100) * 100);
    baseFixed.push(await measure(() => hey(url, rate), appPids));
    for (const [i, build] of builds.entries()) await measureBuild(build, perBuild[i]!, url, appPids, rate);
  }
  const sat = `wrk -t1 -c32 ${SECONDS}s on loopback, saturation, mean of ${ROUNDS} alternating rounds`;
  const fixed = `hey -c10 at ${rate} req/s for ${SECONDS}s, mean of ${ROUNDS} alternating rounds`;
  const figures = builds.map((build, i) =>
    report(
      `sensor-capture/${name}${i === 0 ? '' : `@${build.label}`}`,
      perBuild[i]!,
      avg(base),
      avg(baseFixed),
      sat,
      fixed,
    ),
  );
  // This build against the reference build, measured in the same run.
  for (const [i, ref] of figures.entries()) {
    if (i === 0) continue;
    for (const [metric, value] of Object.entries(figures[0]!)) {
      record({
        benchmark: `sensor-capture/${name}`,
        metric: `${metric}_vs_${builds[i]!.addon ? 'reference' : builds[i]!.label}`,
        value,
        unit: metric.startsWith('bpf_ns') ? 'ns' : metric.startsWith('sensor_cores') ? 'cores' : 'us',
        baseline: ref[metric],
        notes: `baseline = the same metric with the sensor ${builds[i]!.addon ? `built from ${builds[i]!.label}` : `of this checkout at ${builds[i]!.label}`}, same run`,
      });
    }
  }
}

/** Records one build's figures against the runs without the sensor; returns its per-request costs. */
function report(
  b: string,
  runs: BuildRuns,
  base: Measured,
  baseFixed: Measured,
  sat: string,
  fixed: string,
): Record<string, number> {
  const withSensor = avg(runs.with);
  const withFixed = avg(runs.withFixed);
  const pair = (metric: string, w: number, bl: number, unit: string, notes: string) =>
    record({ benchmark: b, metric, value: w, unit, baseline: bl, notes });
  pair('throughput_saturated', withSensor.load.rps, base.load.rps, 'req/s', sat);
  pair('latency_p50_saturated', withSensor.load.p50Ms, base.load.p50Ms, 'ms', sat);
  pair('latency_p99_saturated', withSensor.load.p99Ms, base.load.p99Ms, 'ms', sat);
  pair('throughput_fixed_rate', withFixed.load.rps, baseFixed.load.rps, 'req/s', fixed);
  pair('latency_p50_fixed_rate', withFixed.load.p50Ms, baseFixed.load.p50Ms, 'ms', fixed);
  pair('latency_p99_fixed_rate', withFixed.load.p99Ms, baseFixed.load.p99Ms, 'ms', fixed);
  const usPer = (cpu: number, n: number) => (cpu / n) * 1e6;
  pair(
    'app_cpu_per_request_fixed_rate',
    usPer(withFixed.appCpu, withFixed.load.requests),
    usPer(baseFixed.appCpu, baseFixed.load.requests),
    'us',
    `${fixed}; service process CPU incl. the in-kernel hook time of its syscalls`,
  );
  const out: Record<string, number> = {};
  for (const [label, m, notes] of [
    ['saturated', withSensor, sat],
    ['fixed_rate', withFixed, fixed],
  ] as const) {
    const reqs = m.load.requests;
    const netNs = Math.max(0, m.bpf!.ns - runs.background * SECONDS);
    const perProgram = label === 'saturated' ? `; last round per program: ${runs.programs}` : '';
    out[`bpf_ns_per_request_${label}`] = netNs / reqs;
    record({
      benchmark: b,
      metric: `bpf_ns_per_request_${label}`,
      value: netNs / reqs,
      unit: 'ns',
      notes: `${notes}; bpf_stats run_time_ns of all capture programs minus the idle background (${Math.round(runs.background / 1000)} us/s), per request; raw ${Math.round(m.bpf!.ns / reqs)} ns${perProgram}`,
    });
    out[`sensor_user_cpu_per_request_${label}`] = usPer(m.sensorCpu!, reqs);
    record({
      benchmark: b,
      metric: `sensor_user_cpu_per_request_${label}`,
      value: usPer(m.sensorCpu!, reqs),
      unit: 'us',
      notes,
    });
    const cores = (m.sensorCpu! + netNs / 1e9) / SECONDS / (m.load.rps / 10_000);
    out[`sensor_cores_per_10k_rps_${label}`] = cores;
    record({
      benchmark: b,
      metric: `sensor_cores_per_10k_rps_${label}`,
      value: cores,
      unit: 'cores',
      notes: `${notes}; (sensor process CPU + net in-kernel program time) / duration, per 10k req/s`,
    });
  }
  record({
    benchmark: b,
    metric: 'sensor_rss',
    value: withFixed.sensorRss!,
    unit: 'MiB',
    notes: 'VmRSS of the sensor process (SensorCapture alone, 16 MiB ring) after the runs',
  });
  process.stdout.write(`${b} per program (saturated, last round): ${runs.programs}\n`);
  process.stdout.write(`${b} sensor counters, last round: ${runs.sensorStats}\n`);
  return out;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('cannot run the capture benchmark: it needs root (eBPF)');
  const builds: SensorBuild[] = [{ label: 'this checkout' }];
  const ref = process.env.BENCH_REFERENCE;
  const refDir = ref ? mkdtempSync(join(tmpdir(), 'understory-capture-ref-')) : undefined;
  try {
    // BENCH_REFERENCE_OPTIONS: options for the reference's sensor, e.g. a default this checkout changed in
    // TypeScript (the reference build swaps only the eBPF program and the addon).
    const refOptions = JSON.parse(process.env.BENCH_REFERENCE_OPTIONS ?? '{}') as Record<string, unknown>;
    if (ref && refDir) builds.push({ label: ref, addon: buildReference(ref, refDir), options: refOptions });
    for (const cap of process.env.BENCH_MSG_START_CAPS?.split(',').filter(Boolean) ?? []) {
      builds.push({ label: `msgStartCap=${Number(cap)}`, options: { msgStartCap: Number(cap) } });
    }
    await runScenarios(builds);
  } finally {
    if (refDir) rmSync(refDir, { recursive: true, force: true });
  }
}

async function runScenarios(builds: SensorBuild[]): Promise<void> {
  const only = process.env.BENCH_SCENARIOS?.split(',');
  const body = JSON.stringify({
    items: Array.from({ length: 16 }, (_, i) => ({
      id: i,
      name: `item-${i}`,
      price: 10 + i,
      tags: ['a', 'b'],
    })),
  });
  if (!only || only.includes('node')) {
    const node = await startNodeHttp(body.slice(0, 1000));
    try {
      await scenario('node-http-1kb-json', `http://127.0.0.1:${node.port}/api/items`, [node.pid], builds);
    } finally {
      await node.stop();
    }
  }
  if (!only || only.includes('nginx')) {
    const nginx = await startNginx('ok');
    try {
      const pids = [nginx.pid, ...children(nginx.pid)];
      await scenario('nginx-tiny', `http://127.0.0.1:${nginx.port}/`, pids, builds);
    } finally {
      await nginx.stop();
    }
  }
}

await withBpfStats(main);
