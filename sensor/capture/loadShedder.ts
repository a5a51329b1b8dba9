import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Keeps the sensor within a CPU budget by leaving whole connections out of the capture (load shedding).
 *
 * Why connections, not events: a ring buffer that overflows drops events at random, which cuts messages
 * and unpairs calls on every busy connection, and every dropped event has already cost the application
 * its copy in the kernel hook. Leaving a connection out is decided in the hook before anything is copied
 * (a hash of its port pair against a threshold, `shed_lots` in capture.h), and the connections kept are
 * captured whole, so their calls stay exact.
 *
 * Control: once per interval the sensor's CPU over the interval is compared with the budget: its process
 * (all threads, user + system) plus its eBPF programs' time on the observed applications' calls (the
 * kernel's sampled estimate, `kernelNs`), which the applications pay for and the process's CPU does not
 * show. Above it, or when the ring dropped events, the kept fraction shrinks in proportion (at most to a
 * quarter per step); below 80 % of the budget it grows again by at most 25 % per step; in between it
 * holds, so the fraction settles instead of oscillating. Without a budget only ring drops shrink it, and it
 * grows back by 25 % per step while there are none. It never goes below
 * `minKeep`, so every busy workload still yields some calls, and while it sheds the kernel's salt changes
 * every `rotateMs`, so the connections left out change too (a workload with one pooled connection is not
 * left out for good; each change drops the calls in flight on the connections it switches). A hook's fixed
 * cost (the tracepoint, the process filter, the lot of a connection left out) remains at any share.
 *
 * Estimates: RED metrics of a shed capture are scaled so rates and counts stay estimates of the whole
 * traffic (`understory_sensor_capture_keep_ratio` says when they are): a call of process P counts for P's
 * data events seen plus left out over those seen in the last interval (`weightOf`). The kernel tells each
 * event how many calls of its thread were left out before it, so each process gets its own ratio: a
 * process whose few connections all drew high lots is not scaled up by the share the busy ones lost.
 * `weight` is the same ratio over all processes, for a process without a count of its own.
 */
export interface LoadShedderOptions {
  /**
   * CPU budget in cores (> 0): the sensor process plus its eBPF programs' time on traced calls. 0: none,
   * only ring drops shrink the share (and it grows back while there are none).
   */
  cpuLimitCores: number;
  /**
   * Sets the kernel's threshold: connections whose 16-bit lot is below `lots` are left out; a `salt`
   * changes which connections draw which lot (absent: the salt stays).
   */
  apply: (lots: number, salt?: number) => void;
  /**
   * The kernel's counters, cumulative: ring drops, data events left out, and the programs' estimated time
   * on traced calls in ns (absent: not counted in the budget).
   */
  counters: () => { drops: number; shed: number; kernelNs?: number };
  /** Data events user space received, cumulative. */
  dataEvents: () => number;
  /**
   * Per process, the data events seen and left out since the last call (LiveSource.takeShedCounts);
   * absent: every process gets the overall `weight`.
   */
  pidCounts?: () => ReadonlyMap<number, { seen: number; shed: number }>;
  /** Control interval. Default 1000 ms. */
  intervalMs?: number;
  /** Smallest kept fraction, 1/65536 .. 1. Default 1/64. */
  minKeep?: number;
  /**
   * While shedding, a new salt this often (>= intervalMs), so the connections left out change: a workload
   * whose only connection drew a low lot is not left out for good. Default 30 s.
   */
  rotateMs?: number;
  /** New salts (default: random u32). */
  salt?: () => number;
  /** Process CPU seconds so far (default: process.cpuUsage, all threads). */
  cpuSeconds?: () => number;
  /** Monotonic seconds (default: performance.now). */
  now?: () => number;
}

export const LOTS = 65_536;
/** Hold band: shrink above the budget, grow below this share of it. */
const GROW_BELOW = 0.8;
/** Aim below the budget so one step does not land on it again. */
const AIM = 0.9;
const MAX_SHRINK = 0.25;
const MAX_GROW = 1.25;
/** The fraction kept when the ring dropped events while the CPU was under the budget. */
const DROP_SHRINK = 0.7;
/** Data events seen in an interval below which the weight is not measured but taken from the share set. */
const MIN_MEASURED = 64;

export class LoadShedder {
  /** Fraction of connections captured now (1: all). */
  keep = 1;
  /** Factor RED counts are multiplied by: data events (seen + left out) / seen, over the last interval. */
  weight = 1;
  /** Per process: the factor of its calls over the last interval (see weightOf). */
  private pidWeights: ReadonlyMap<number, number> = new Map();
  /** Process CPU over the last interval, in cores. */
  cpuCores = 0;
  /** eBPF program time on traced calls over the last interval, in cores (the kernel's estimate). */
  kernelCores = 0;
  /** Steps that lowered the kept fraction. */
  shrinks = 0;
  /** Salts set (rotations while shedding). */
  rotations = 0;
  private readonly o: Required<Omit<LoadShedderOptions, 'cpuSeconds' | 'now' | 'salt' | 'pidCounts'>> &
    Pick<LoadShedderOptions, 'pidCounts'>;
  private readonly salt: () => number;
  private lastRotation = 0;
  private readonly cpuSeconds: () => number;
  private readonly now: () => number;
  private last:
    | { t: number; cpu: number; kernel: number; drops: number; shed: number; data: number }
    | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: LoadShedderOptions) {
    const o = { intervalMs: 1000, minKeep: 1 / 64, rotateMs: 30_000, ...options };
    if (!(Number.isFinite(o.cpuLimitCores) && o.cpuLimitCores >= 0 && o.cpuLimitCores <= 1024))
      throw new Error(`cannot shed load: cpuLimitCores is ${o.cpuLimitCores}, want 0 <= cores <= 1024`);
    if (!(Number.isInteger(o.intervalMs) && o.intervalMs >= 100 && o.intervalMs <= 60_000))
      throw new Error(`cannot shed load: intervalMs is ${o.intervalMs}, want 100..60000`);
    if (!(o.minKeep >= 1 / LOTS && o.minKeep <= 1))
      throw new Error(`cannot shed load: minKeep is ${o.minKeep}, want 1/65536..1`);
    if (!(Number.isInteger(o.rotateMs) && o.rotateMs >= o.intervalMs))
      throw new Error(`cannot shed load: rotateMs is ${o.rotateMs}, want an integer >= intervalMs`);
    this.o = o;
    this.salt = options.salt ?? (() => randomBytes(4).readUInt32LE(0));
    this.cpuSeconds =
      o.cpuSeconds ??
      (() => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1e6;
      });
    this.now = o.now ?? (() => performance.now() / 1000);
  }

  start(): void {
    if (this.timer) return;
    this.step();
    this.timer = setInterval(() => this.step(), this.o.intervalMs);
    this.timer.unref();
  }

  /**
   * Stops adjusting and captures every connection again. The weights stay: the calls still on their way
   * (a tracker flushed at shutdown) were captured under the last share and count for what it left out.
   */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.keep < 1) this.o.apply(0);
    this.keep = 1;
  }

  /** One control step (the timer's; tests call it with their own clocks). */
  step(): void {
    const { drops, shed, kernelNs = 0 } = this.o.counters();
    const now = {
      t: this.now(),
      cpu: this.cpuSeconds(),
      kernel: kernelNs / 1e9,
      drops,
      shed,
      data: this.o.dataEvents(),
    };
    const last = this.last;
    this.last = now;
    if (last === undefined || now.t <= last.t) return;
    this.cpuCores = Math.max(0, now.cpu - last.cpu) / (now.t - last.t);
    this.kernelCores = Math.max(0, now.kernel - last.kernel) / (now.t - last.t);
    const used = this.cpuCores + this.kernelCores;
    const seen = now.data - last.data;
    const left = now.shed - last.shed;
    // Too few events to measure (an idle second): the share set is the best guess for the next batch.
    this.weight = seen >= MIN_MEASURED ? (seen + left) / seen : 1 / this.keep;
    const weights = new Map<number, number>();
    for (const [pid, c] of this.o.pidCounts?.() ?? [])
      if (c.seen > 0) weights.set(pid, (c.seen + c.shed) / c.seen);
    this.pidWeights = weights;
    const limit = this.o.cpuLimitCores > 0 ? this.o.cpuLimitCores : Number.POSITIVE_INFINITY;
    let keep = this.keep;
    if (used > limit) keep *= Math.max(MAX_SHRINK, (AIM * limit) / used);
    else if (now.drops > last.drops) keep *= DROP_SHRINK;
    else if (used < GROW_BELOW * limit && keep < 1)
      keep *= Math.min(MAX_GROW, used > 0 ? (AIM * limit) / used : MAX_GROW); // no budget: MAX_GROW
    keep = Math.min(1, Math.max(this.o.minKeep, keep));
    if (keep < this.keep) this.shrinks++;
    this.set(keep, now.t);
  }

  /** What a call of process `pid` counts for in RED metrics: its own ratio, else the overall one. */
  weightOf(pid: number | undefined): number {
    return (pid === undefined ? undefined : this.pidWeights.get(pid)) ?? this.weight;
  }

  private set(keep: number, t: number): void {
    const lots = Math.min(LOTS, Math.max(0, Math.round((1 - keep) * LOTS)));
    const before = Math.round((1 - this.keep) * LOTS);
    this.keep = keep;
    if (lots > 0 && before === 0) this.lastRotation = t; // shedding begins: so does the salt's period
    if (lots > 0 && before > 0 && (t - this.lastRotation) * 1000 >= this.o.rotateMs) {
      this.lastRotation = t;
      this.rotations++;
      this.o.apply(lots, this.salt() >>> 0);
    } else if (lots !== before) this.o.apply(lots);
  }
}

/**
 * The CPU quota of this process's cgroup (v2 `cpu.max`, else v1 `cpu.cfs_quota_us`), in cores; undefined
 * without one. A container's CPU limit shows here; the sensor's default budget is a share of it, so the
 * sensor sheds load before the kernel throttles it (throttling stalls the ring's reader and drops events
 * at random).
 */
export function cgroupCpuQuota(
  procSelfCgroup = '/proc/self/cgroup',
  root = '/sys/fs/cgroup',
): number | undefined {
  let lines: string[];
  try {
    lines = readFileSync(procSelfCgroup, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  for (const line of lines) {
    const [id, controllers, path] = line.split(':', 3);
    if (path === undefined) continue;
    if (id === '0' && controllers === '') {
      const max = read(`${root}${path === '/' ? '' : path}/cpu.max`) ?? read(`${root}/cpu.max`);
      const [quota, period] = (max ?? '').split(/\s+/);
      if (quota && quota !== 'max' && Number(period) > 0) return Number(quota) / Number(period);
    } else if (controllers?.split(',').includes('cpu')) {
      const dir = `${root}/${controllers}${path === '/' ? '' : path}`;
      const quota = Number(read(`${dir}/cpu.cfs_quota_us`) ?? '-1');
      const period = Number(read(`${dir}/cpu.cfs_period_us`) ?? '0');
      if (quota > 0 && period > 0) return quota / period;
    }
  }
  return undefined;
}
