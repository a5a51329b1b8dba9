/**
 * Cost of the WHOLE sensor (eBPF capture + live source + protocol parsing + RED aggregation + trace sampling
 * + remote-write and OTLP export) to the applications it observes, in one run with and without it:
 * (a) a Node.js HTTP service answering ~1 KB of JSON, (b) nginx answering 2 bytes. Each is driven on loopback
 * by wrk at saturation and by hey at two fixed rates (25 % and 50 % of the saturated rate without the
 * sensor). The sensor is the real `understory sensor` process capturing the service's pids, exporting to a
 * local sink that answers every POST (the ingester and collector are measured by their own benchmarks).
 *
 * Reported (bench/results.tsv, no-sensor figure as baseline): throughput (the loss is 1 - ratio), p50/p99
 * latency, sensor CPU (its process plus the in-kernel program time from bpf_stats) per 10k req/s, sensor
 * RSS, API calls parsed per request (a check that the sensor really parsed the traffic), and the service's
 * own CPU per request (what the hooks add to each request, apart from the cores the sensor takes). Saturated
 * throughput is also judged per round against the no-sensor windows just before and after each sensor's
 * (`throughput_ratio_saturated_bracketed`, the median of those ratios; the same for CPU per request), and the sensor's own estimate of its
 * programs' time, what its CPU budget counts, is set against bpf_stats (`kernel_estimate_cores_*`).
 * Run: npm run bench sensor.bench   (as root; ~5 minutes; BENCH_SECONDS, BENCH_ROUNDS change the length;
 * BENCH_SCENARIOS=node|nginx runs one; BENCH_REFERENCE=<git ref> also runs that commit's whole sensor
 * (its TypeScript, eBPF program and addon, built in a temporary directory) in the same alternating rounds
 * and records this build's cost against it as `*_vs_reference`, so a before/after shares one machine state;
 * the sensor processes run with the Node flags of sensor/nodeFlags.ts (as `understory up`, the chart and the
 * image run them), or BENCH_SENSOR_NODE_ARGS (space-separated) for this build and BENCH_REFERENCE_NODE_ARGS
 * for the reference when a flag change is what is measured; BENCH_SENSOR_BUILD=js measures
 * this checkout compiled by scripts/build-js.mjs, as the images run it, and the reference compiled likewise;
 * BENCH_WARMUP_SECONDS (default 10) of hey, then 2 s of wrk, warm each started sensor up before it is measured;
 * BENCH_CPU_LIMITS=0.1,0.05 also runs this checkout under each CPU budget (`--cpu-limit`, load shedding) in the
 * same rounds, as `sensor-full/<service>@cpu-limit-<cores>` with the share of connections kept; without it
 * the sensor runs with `--cpu-limit 0`, i.e. every connection captured); BENCH_CONTROLS=none,idle adds
 * controls in the same rounds: `sensor-full/<service>@none` runs a sensor's windows and warm-up with no
 * sensor (the spread of the bracketed ratio between no-sensor windows alone), `@idle` a sensor capturing
 * only a sleeping process (its hooks' fixed cost on every call, nothing captured)
 *
 * Paired mode (BENCH_PAIRED=1, needs BENCH_REFERENCE): both sensors capture the service AT ONCE, and each
 * fixed-rate window measures both, so the machine's drift (±25 % between runs minutes apart here) hits the
 * two alike. Records per rate the median of this build's per-10k CPU over BENCH_PAIRED_WINDOWS windows
 * (default 8) against the reference's in the same windows, and the median and range of the per-window
 * ratios: the figure to judge a user-space change of a few percent by. Each sensor's eBPF programs run on
 * every hooked call of the service, so the service serves more slowly than with one sensor; throughput and
 * latency are not reported in this mode.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNginx, startNodeHttp } from '../../sensor/testing/servers.ts';
import { record } from '../harness.ts';
import { children, cpuSeconds, hey, SECONDS, withBpfStats, wrk } from './load.ts';
import {
  type Build,
  buildReference,
  nodeArgs,
  type Sensor,
  startSensor,
  stopSensor,
} from './sensorBuilds.ts';
import {
  avg,
  bpfBackgroundNsPerS,
  bpfNs,
  fixedRates,
  type Measured,
  measure,
  median,
  RATE_FRACTIONS,
  rateLabel,
  settle,
  startSink,
  warmUp,
} from './sensorMeasure.ts';

const repo = join(import.meta.dirname, '../..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
async function scenario(
  name: string,
  url: string,
  pids: number[],
  sink: string,
  builds: Build[],
): Promise<void> {
  const labels = ['saturated', ...RATE_FRACTIONS.map(rateLabel)];
  const base: Measured[][] = labels.map(() => []);
  const withSensor: Measured[][][] = builds.map(() => labels.map(() => []));
  /** Per build, each round's saturated throughput over that of the no-sensor windows just before and after. */
  const saturatedRatios: number[][] = builds.map(() => []);
  /** Likewise, the service's CPU per request (above 1: the capture made each request cost more). */
  const cpuRatios: number[][] = builds.map(() => []);
  let rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Without and with alternate, so drift in the machine's load hits both alike.
    let before = await measure(pids, () => wrk(url));
    base[0]!.push(before);
    if (rates.length === 0) rates = fixedRates(base[0]![0]!.load.rps);
    for (const [i, rate] of rates.entries()) base[i + 1]!.push(await measure(pids, () => hey(url, rate)));
    // The builds take turns going first, so neither always runs right after the baseline.
    const order = builds.map((_, i) => (i + round) % builds.length);
    for (const bi of order) {
      const build = builds[bi]!;
      const sensor =
        build.control === 'none' ? undefined : await startSensor(build.pids ?? pids, sink, build);
      const runs = withSensor[bi]!;
      try {
        await warmUp(url, rates[rates.length - 1]!);
        // The same settling time with or without a sensor, so the control keeps the sensor's cadence.
        let bg = 0;
        if (sensor) bg = await bpfBackgroundNsPerS(sensor);
        else await settle();
        runs[0]!.push(await measure(pids, () => wrk(url), sensor, bg));
        for (const [i, rate] of rates.entries())
          runs[i + 1]!.push(await measure(pids, () => hey(url, rate), sensor, bg));
      } finally {
        if (sensor) await stopSensor(sensor);
      }
      // A no-sensor saturated window after each sensor's: the machine drifts by tens of percent within
      // minutes here, so each sensor window is also judged against the two no-sensor windows around it.
      const after = await measure(pids, () => wrk(url));
      base[0]!.push(after);
      const w = runs[0]!.at(-1)!;
      saturatedRatios[bi]!.push(w.load.rps / ((before.load.rps + after.load.rps) / 2));
      cpuRatios[bi]!.push(
        w.serviceUsPerRequest / ((before.serviceUsPerRequest + after.serviceUsPerRequest) / 2),
      );
      before = after;
    }
  }
  for (const [bi, build] of builds.entries()) {
    const b = bi === 0 ? `sensor-full/${name}` : `sensor-full/${name}@${build.label}`;
    for (const [i, label] of labels.entries()) {
      const w = avg(withSensor[bi]![i]!);
      const o = avg(base[i]!);
      const how =
        i === 0
          ? `wrk -t1 -c32 ${SECONDS}s, saturation`
          : `hey -c10 at ${rates[i - 1]} req/s (${label.replace('rate_', '').replace('pct', ' %')} of saturation) ${SECONDS}s`;
      const flags = build.nodeArgs.length > 0 ? build.nodeArgs.join(' ') : 'no Node flags';
      const what = build.reference
        ? ` of ${build.label}`
        : build.control
          ? ` control ${build.control}`
          : build.sensorArgs
            ? ` ${build.sensorArgs.join(' ')}`
            : '';
      const notes = `${how}; mean of ${ROUNDS} alternating rounds; understory sensor${what} (${flags}) with remote write + OTLP to a local sink`;
      recordLoad(b, label, w, o, notes);
      if (i === 0) {
        const r = saturatedRatios[bi]!;
        record({
          benchmark: b,
          metric: 'throughput_ratio_saturated_bracketed',
          value: median(r),
          unit: 'ratio',
          notes: `${notes}; median over rounds of the sensor window's throughput over the mean of the no-sensor windows just before and after it (per round: ${r.map((x) => x.toFixed(3)).join(', ')})`,
        });
        const c = cpuRatios[bi]!;
        record({
          benchmark: b,
          metric: 'service_cpu_per_request_saturated_bracketed',
          value: median(c),
          unit: 'ratio',
          notes: `${notes}; median over rounds of the service's CPU per request in the sensor window over the mean of the no-sensor windows just before and after it (per round: ${c.map((x) => x.toFixed(3)).join(', ')})`,
        });
      }
      if (w.kernelEstimateCores !== undefined && Number.isFinite(w.kernelEstimateCores))
        record({
          benchmark: b,
          metric: `kernel_estimate_cores_${label}`,
          value: w.kernelEstimateCores,
          unit: 'cores',
          baseline: w.bpfCores!,
          notes: `${notes}; the sensor's own sampled estimate of its programs' time on traced calls (understory_sensor_capture_kernel_seconds_total, what its CPU budget counts) against bpf_stats' time of all its programs net of the idle background (baseline; includes the hooks' fixed cost)`,
        });
      if (build.sensorArgs)
        record({
          benchmark: b,
          metric: `keep_ratio_${label}`,
          value: w.keep!,
          unit: 'ratio',
          notes: `${notes}; share of connections captured at the end of each window (load shedding below 1)`,
        });
      if (build.reference) {
        const cur = avg(withSensor[0]![i]!);
        const per10k = (m: Measured) => (m.processCores! + m.bpfCores!) / (m.load.rps / 10_000);
        record({
          benchmark: `sensor-full/${name}`,
          metric: `sensor_cores_per_10k_rps_${label}_vs_reference`,
          value: per10k(cur),
          unit: 'cores',
          baseline: per10k(w),
          notes: `${notes}; this checkout (value) against ${build.label} (baseline), same run`,
        });
      }
    }
    if (build.control !== 'none')
      record({
        benchmark: b,
        metric: 'sensor_rss',
        value: Math.max(...withSensor[bi]!.flat().map((m) => m.rss!)),
        unit: 'MiB',
        notes: `largest VmRSS of the understory sensor process during the runs (16 MiB ring); ${
          process.env.BENCH_SENSOR_BUILD === 'js'
            ? 'compiled tree, as the images run it'
            : 'run from source: includes the tsx loader (~20 MiB), which the images do not run (BENCH_SENSOR_BUILD=js measures that)'
        }`,
      });
  }
}

const PAIRED_WINDOWS = Number(process.env.BENCH_PAIRED_WINDOWS ?? 8);

/**
 * Paired mode (see the header): builds[0] and builds[1] capture the service together. The windows are run in
 * two halves with the sensors started in both orders: tracepoint programs run in attach order, and the
 * second one finds caches the first warmed (measured: 1.37x in-kernel time for the first with the same
 * program), so a fixed order would bias the in-kernel figures.
 */
async function pairedScenario(
  name: string,
  url: string,
  pids: number[],
  sink: string,
  builds: Build[],
): Promise<void> {
  const saturated = await wrk(url);
  const rates = fixedRates(saturated.rps);
  // [rate][build] -> per-window figures
  const per10k = rates.map(() => [[], []] as number[][]);
  const bpfPer10k = rates.map(() => [[], []] as number[][]);
  for (const order of [
    [0, 1],
    [1, 0],
  ]) {
    const sensors: Sensor[] = [];
    try {
      for (const k of order) sensors[k] = await startSensor(pids, sink, builds[k]!);
      await warmUp(url, rates[rates.length - 1]!);
      const bgs = await Promise.all(sensors.map((s) => bpfBackgroundNsPerS(s)));
      for (const [i, rate] of rates.entries()) {
        for (let w = 0; w < Math.ceil(PAIRED_WINDOWS / 2); w++) {
          const pidsNow = sensors.map((s) => s.child.pid!);
          const cpu0 = pidsNow.map(cpuSeconds);
          const bpf0 = pidsNow.map(bpfNs);
          const t0 = process.hrtime.bigint();
          const load = await hey(url, rate);
          const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
          const per = load.rps / 10_000;
          for (const k of [0, 1]) {
            per10k[i]![k]!.push((cpuSeconds(pidsNow[k]!) - cpu0[k]!) / elapsed / per);
            const bpf = Math.max(0, bpfNs(pidsNow[k]!) - bpf0[k]! - bgs[k]! * elapsed);
            bpfPer10k[i]![k]!.push(bpf / 1e9 / elapsed / per);
          }
        }
      }
    } finally {
      for (const s of sensors) if (s) await stopSensor(s);
    }
  }
  for (const [i, rate] of rates.entries()) {
    const label = rateLabel(RATE_FRACTIONS[i]!);
    const [mine, theirs] = per10k[i]!;
    const ratios = mine!.map((v, w) => v / theirs![w]!);
    const notes =
      `hey -c10 at ${rate} req/s (${Math.round(RATE_FRACTIONS[i]! * 100)} % of saturation), ${mine!.length} windows of ${SECONDS}s, ` +
      `both sensors capturing at once, started in both orders (${builds[1]!.label} as baseline); median over windows; ` +
      `per-window ratio median ${median(ratios).toFixed(3)}, range ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}`;
    record({
      benchmark: `sensor-full/${name}`,
      metric: `sensor_process_cores_per_10k_rps_${label}_paired_vs_reference`,
      value: median(mine!),
      unit: 'cores',
      baseline: median(theirs!),
      notes,
    });
    record({
      benchmark: `sensor-full/${name}`,
      metric: `sensor_bpf_cores_per_10k_rps_${label}_paired_vs_reference`,
      value: median(bpfPer10k[i]![0]!),
      unit: 'cores',
      baseline: median(bpfPer10k[i]![1]!),
      notes: `${notes}; in-kernel program time of each sensor's own programs, net of its idle background`,
    });
  }
}

function recordLoad(b: string, label: string, w: Measured, o: Measured, notes: string): void {
  record({
    benchmark: b,
    metric: `throughput_${label}`,
    value: w.load.rps,
    unit: 'req/s',
    baseline: o.load.rps,
    notes,
  });
  record({
    benchmark: b,
    metric: `latency_p50_${label}`,
    value: w.load.p50Ms,
    unit: 'ms',
    baseline: o.load.p50Ms,
    notes,
  });
  record({
    benchmark: b,
    metric: `latency_p99_${label}`,
    value: w.load.p99Ms,
    unit: 'ms',
    baseline: o.load.p99Ms,
    notes,
  });
  record({
    benchmark: b,
    metric: `service_us_per_request_${label}`,
    value: w.serviceUsPerRequest,
    unit: 'us',
    baseline: o.serviceUsPerRequest,
    notes: `${notes}; the service's CPU (user + system, all its processes) per request served: what the hooks add to each request, without the cores the sensor's process takes`,
  });
  if (w.processCores === undefined) return; // the `none` control: no sensor ran
  const per10k = (cores: number) => cores / (w.load.rps / 10_000);
  record({
    benchmark: b,
    metric: `sensor_cores_per_10k_rps_${label}`,
    value: per10k(w.processCores! + w.bpfCores!),
    unit: 'cores',
    notes: `${notes}; sensor process CPU + in-kernel eBPF program time net of the idle background, per 10k req/s`,
  });
  record({
    benchmark: b,
    metric: `sensor_process_cores_per_10k_rps_${label}`,
    value: per10k(w.processCores!),
    unit: 'cores',
    notes: `${notes}; user-space part: capture reader, parsing, aggregation, export`,
  });
  record({
    benchmark: b,
    metric: `calls_per_request_${label}`,
    value: w.callsPerRequest!,
    unit: 'calls',
    notes: `${notes}; API calls the sensor stitched per request served (server side only: the load generator is not captured)`,
  });
  record({
    benchmark: b,
    metric: `drops_per_request_${label}`,
    value: w.dropsPerRequest!,
    unit: 'events',
    notes: `${notes}; capture records lost because the ring was full, per request`,
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('cannot run the sensor benchmark: it needs root (eBPF)');
  const sink = await startSink();
  const only = process.env.BENCH_SCENARIOS;
  const builds: Build[] = [{ label: 'this', dir: repo, nodeArgs: nodeArgs('BENCH_SENSOR_NODE_ARGS') }];
  // BENCH_SENSOR_BUILD=js: this checkout compiled by scripts/build-js.mjs (as the images run it, no tsx).
  const jsDir =
    process.env.BENCH_SENSOR_BUILD === 'js' ? mkdtempSync(join(tmpdir(), 'understory-js-')) : undefined;
  if (jsDir) {
    execFileSync(process.execPath, [join(repo, 'scripts/build-js.mjs'), join(jsDir, 'tree')], {
      stdio: 'inherit',
    });
    symlinkSync(join(repo, 'node_modules'), join(jsDir, 'tree/node_modules'));
    builds[0] = { ...builds[0]!, label: 'this (compiled)', dir: join(jsDir, 'tree') };
  }
  const ref = process.env.BENCH_REFERENCE;
  const paired = process.env.BENCH_PAIRED === '1';
  if (paired && !ref)
    throw new Error('cannot run the paired sensor benchmark: BENCH_PAIRED=1 needs BENCH_REFERENCE');
  const run = paired ? pairedScenario : scenario;
  const refDir = ref ? mkdtempSync(join(tmpdir(), 'understory-sensor-ref-')) : undefined;
  if (ref && refDir) builds.push({ ...buildReference(ref, refDir, jsDir !== undefined), reference: true });
  // BENCH_CPU_LIMITS=0.1,0.05: this checkout again under each CPU budget (load shedding), same rounds.
  for (const cores of (process.env.BENCH_CPU_LIMITS ?? '').split(',').filter((c) => c.trim() !== ''))
    builds.push({
      ...builds[0]!,
      label: `cpu-limit-${cores.trim()}`,
      sensorArgs: ['--cpu-limit', cores.trim()],
    });
  // BENCH_CONTROLS=none,idle: controls in the same rounds (see Build.control).
  for (const c of (process.env.BENCH_CONTROLS ?? '').split(',').filter((c) => c.trim() !== '')) {
    const control = c.trim();
    if (control !== 'none' && control !== 'idle')
      throw new Error(`cannot run the sensor benchmark: BENCH_CONTROLS takes none and idle, not ${control}`);
    builds.push({ ...builds[0]!, label: control, control });
  }
  // What the `idle` control's sensor captures: a process that makes no calls.
  const sleeper = builds.some((b) => b.control === 'idle')
    ? spawn('sleep', ['infinity'], { stdio: 'ignore' })
    : undefined;
  for (const b of builds) if (b.control === 'idle') b.pids = [sleeper!.pid!];
  const body = JSON.stringify({
    items: Array.from({ length: 16 }, (_, i) => ({
      id: i,
      name: `item-${i}`,
      price: 10 + i,
      tags: ['a', 'b'],
    })),
  });
  try {
    if (!only || only.includes('node')) {
      const node = await startNodeHttp(body.slice(0, 1000));
      try {
        await run(
          'node-http-1kb-json',
          `http://127.0.0.1:${node.port}/api/items/42`,
          [node.pid],
          sink.url,
          builds,
        );
      } finally {
        await node.stop();
      }
    }
    if (!only || only.includes('nginx')) {
      const nginx = await startNginx('ok');
      try {
        await run(
          'nginx-tiny',
          `http://127.0.0.1:${nginx.port}/`,
          [nginx.pid, ...children(nginx.pid)],
          sink.url,
          builds,
        );
      } finally {
        await nginx.stop();
      }
    }
    process.stdout.write(`sink received ${sink.bodies()} export bodies\n`);
  } finally {
    await sink.close();
    if (refDir) rmSync(refDir, { recursive: true, force: true });
    if (jsDir) rmSync(jsDir, { recursive: true, force: true });
    sleeper?.kill();
  }
}

// bpf_stats for bpfCores: the sensor's windows pay its ~85 ns per program run, which a node does not.
await withBpfStats(main);
