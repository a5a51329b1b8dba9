/**
 * The measuring side of the whole-sensor benchmark (sensor.bench.ts): the warm-up before a started sensor is
 * measured, the sink its exports land in, one window's figures (load, the service's CPU per request, the
 * sensor's process and program time, its counters) and their means over rounds.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bpfRunTime, cpuSeconds, execFileP, hey, type Load, rssMb } from './load.ts';
import { counters, type Sensor } from './sensorBuilds.ts';

/**
 * Load before each started sensor is measured (at the 50 % rate): a sensor runs for days, so its steady state
 * is what counts, not the first seconds in which V8 still compiles the hot paths (measured: 1.1 s of compiler
 * threads in the first 30 s; 0.2 s in a 20 s window that began after 8 s, the 5 s export paths getting hot late).
 */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);

/**
 * The warm-up: WARMUP_SECONDS of hey at `rate`, then 2 s of wrk. The second load closes hey's connections
 * and opens its own, so the connection open/close paths are compiled with their type feedback before any
 * window: measured with --trace-deopt, a first window that opened new connections after a single warm-up
 * load deoptimised the hot path (consumeBatch, stitchHttp, feed) and recompiled for ~0.1 s, 1.1-1.3x the
 * process CPU of later windows; a sensor in a cluster sees connections come and go all the time.
 */
export async function warmUp(url: string, rate: number): Promise<void> {
  if (WARMUP_SECONDS <= 0) return;
  await hey(url, rate, WARMUP_SECONDS);
  await execFileP('wrk', ['-t1', '-c32', '-d2s', url]);
}
export const RATE_FRACTIONS = [0.25, 0.5];

/** run_time_ns summed over the eBPF programs `pid` holds (needs kernel.bpf_stats_enabled=1). */
export const bpfNs = (pid: number) => bpfRunTime(pid).ns;

/** Remote write and OTLP both land here: every POST is read and answered 200, as a healthy peer would. */
export async function startSink(): Promise<{
  url: string;
  bodies: () => number;
  close: () => Promise<void>;
}> {
  let bodies = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      bodies++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, bodies: () => bodies, close: () => new Promise((r) => server.close(() => r())) };
}

export interface Measured {
  load: Load;
  /**
   * The service's own CPU (all its processes, user + system) per request served, in us: it includes the
   * eBPF hooks on its calls, and not the cores the sensor's process takes from it, so it isolates what
   * the capture adds to each request; at saturation a CPU-bound service's throughput is its inverse.
   */
  serviceUsPerRequest: number;
  /** The sensor process's own CPU (user + system), in cores. */
  processCores?: number;
  /** eBPF program time net of the idle background, in cores (charged to the observed processes). */
  bpfCores?: number;
  rss?: number;
  callsPerRequest?: number;
  /** Ring-buffer drops per request (the JavaScript side fell behind). */
  dropsPerRequest?: number;
  /** Share of connections captured at the window's end (below 1: the sensor shed load). */
  keep?: number;
  /** The sensor's own sampled estimate of its programs' time on traced calls, in cores. */
  kernelEstimateCores?: number;
}

/**
 * Program time per second with the service idle: the hooks run for every process on the machine (other
 * work shares it), so this background is subtracted from the in-kernel cost. Also lets the new sensor
 * settle (first export, lazy module loads) before anything is measured.
 */
export async function bpfBackgroundNsPerS(sensor: Sensor): Promise<number> {
  const a = bpfNs(sensor.child.pid!);
  await settle();
  return (bpfNs(sensor.child.pid!) - a) / (SETTLE_MS / 1000);
}

const SETTLE_MS = 2000;
/** The pause after the warm-up in which bpfBackgroundNsPerS measures. */
export const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

export async function measure(
  service: number[],
  run: () => Promise<Load>,
  sensor?: Sensor,
  backgroundNsPerS = 0,
): Promise<Measured> {
  const serviceCpu = () => service.reduce((sum, p) => sum + cpuSeconds(p), 0);
  const service0 = serviceCpu();
  const pid = sensor?.child.pid;
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  const bpf0 = pid ? bpfNs(pid) : 0;
  const c0 = sensor ? await counters(sensor.admin) : undefined;
  const t0 = process.hrtime.bigint();
  const load = await run();
  const serviceUsPerRequest = ((serviceCpu() - service0) / load.requests) * 1e6;
  if (!sensor || !pid || !c0) return { load, serviceUsPerRequest };
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const bpf = Math.max(0, bpfNs(pid) - bpf0 - backgroundNsPerS * elapsed);
  const processCores = (cpuSeconds(pid) - cpu0) / elapsed;
  // Let the last batch drain before counting calls (the reader wakes every 50 ms).
  await new Promise((r) => setTimeout(r, 500));
  const c1 = await counters(sensor.admin);
  return {
    load,
    serviceUsPerRequest,
    processCores,
    bpfCores: bpf / 1e9 / elapsed,
    rss: rssMb(pid),
    callsPerRequest: (c1.calls - c0.calls) / load.requests,
    dropsPerRequest: (c1.drops - c0.drops) / load.requests,
    keep: c1.keep,
    kernelEstimateCores: (c1.kernelSeconds - c0.kernelSeconds) / elapsed,
  };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function avg(ms: Measured[]): Measured {
  const l = (k: keyof Load) => mean(ms.map((m) => m.load[k]));
  const o = (f: (m: Measured) => number | undefined) =>
    f(ms[0]!) === undefined ? undefined : mean(ms.map((m) => f(m)!));
  return {
    load: { rps: l('rps'), p50Ms: l('p50Ms'), p99Ms: l('p99Ms'), requests: l('requests') },
    serviceUsPerRequest: mean(ms.map((m) => m.serviceUsPerRequest)),
    processCores: o((m) => m.processCores),
    bpfCores: o((m) => m.bpfCores),
    rss: o((m) => m.rss),
    callsPerRequest: o((m) => m.callsPerRequest),
    dropsPerRequest: o((m) => m.dropsPerRequest),
    keep: o((m) => m.keep),
    kernelEstimateCores: o((m) => m.kernelEstimateCores),
  };
}

/** The metric label of a fixed rate (`rate_25pct`). */
export const rateLabel = (fraction: number) => `rate_${Math.round(fraction * 100)}pct`;

/** The fixed rates hey offers: RATE_FRACTIONS of the saturated rate, in steps of 100 req/s. */
export const fixedRates = (saturatedRps: number) =>
  RATE_FRACTIONS.map((f) => Math.max(100, Math.round((saturatedRps * f) / 100) * 100));
