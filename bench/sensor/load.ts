import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

/**
 * What the sensor benchmarks (capture.bench.ts, sensor.bench.ts) share: the load generators (wrk at
 * saturation, hey at a fixed rate) and per-process readings from /proc (CPU, RSS, children, eBPF run time).
 */
export const execFileP = promisify(execFile);
/** Length of one measured load, BENCH_SECONDS (default 8). */
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

export interface Load {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
}

/** CPU seconds (user + system) of a process and all its threads, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

export function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

const BPF_STATS = '/proc/sys/kernel/bpf_stats_enabled';

/**
 * Runs `body` with kernel.bpf_stats_enabled=1 (for bpfRunTime) and puts the setting back after: with it on,
 * every program run on the machine also reads the clock twice (~85 ns per hooked call here,
 * hookCost.bench), which a node does not pay by default.
 */
export async function withBpfStats<T>(body: () => Promise<T>): Promise<T> {
  const before = readFileSync(BPF_STATS, 'utf8').trim();
  writeFileSync(BPF_STATS, '1');
  try {
    return await body();
  } finally {
    writeFileSync(BPF_STATS, before);
  }
}

/**
 * Sum of run_time_ns and run_cnt over the eBPF programs the process `pid` holds, from the fdinfo of its
 * program fds (the same kernel counters `bpftool prog show` prints; this bpftool cannot map programs to
 * pids). Counting needs kernel.bpf_stats_enabled=1.
 */
export function bpfRunTime(pid: number): { ns: number; runs: number } {
  const seen = new Set<string>();
  let ns = 0;
  let runs = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const id = /^prog_id:\s+(\d+)/m.exec(info)?.[1];
    const t = /^run_time_ns:\s+(\d+)/m.exec(info)?.[1];
    if (!id || t === undefined || seen.has(id)) continue;
    seen.add(id);
    ns += Number(t);
    runs += Number(/^run_cnt:\s+(\d+)/m.exec(info)?.[1] ?? 0);
  }
  return { ns, runs };
}

/** wrk -t1 -c32 for SECONDS: the saturated rate and its latency percentiles. */
export async function wrk(url: string): Promise<Load> {
  const { stdout } = await execFileP('wrk', ['-t1', '-c32', `-d${SECONDS}s`, '--latency', url], {
    timeout: (SECONDS + 30) * 1000,
  });
  const ms = (label: string) => {
    const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)`, 'm').exec(stdout);
    if (!m) throw new Error(`cannot read wrk ${label}: ${stdout}`);
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  return { rps, requests, p50Ms: ms('50%'), p99Ms: ms('99%') };
}

/** hey with 10 workers at `rate` req/s in all for `seconds`. */
export async function hey(url: string, rate: number, seconds = SECONDS): Promise<Load> {
  const workers = 10;
  const { stdout } = await execFileP(
    'hey',
    ['-z', `${seconds}s`, '-c', String(workers), '-q', String(rate / workers), url],
    {
      timeout: (seconds + 30) * 1000,
      maxBuffer: 1 << 24,
    },
  );
  const sec = (p: string) => Number(new RegExp(`${p}% in ([\\d.]+) secs`).exec(stdout)?.[1]) * 1000;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const requests = Number(/\[200\]\s+(\d+) responses/.exec(stdout)?.[1]);
  return { rps, requests, p50Ms: sec('50'), p99Ms: sec('99') };
}
