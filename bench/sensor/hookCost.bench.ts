/**
 * What attaching an eBPF program costs the calls it sees (and the ones it does not), before the program
 * does any work: a C driver (hookCost/driver.c) times a 1-byte write to /dev/null, a 1-byte write and read
 * through a Unix socket pair, and getppid (a call no program hooks), with no program, with programs on the
 * classic tracepoints of read's and write's exits (how the sensor hooks its data calls), with one BTF
 * tracepoint on every syscall's exit, and with BTF tracepoints on the socket layer (sock_send_length,
 * sock_recv_length), in alternating rounds. The programs only compare the pid, so the figures are the
 * kernel's dispatch: the floor under the calls of every process on the node while a sensor runs, whatever
 * it captures. Baseline: the same workload with no program, in the same run. kernel.bpf_stats_enabled is
 * off during the run, as on a node by default: with it on, each program run also reads the clock twice
 * (measured here: ~85 ns more per hooked call; sensor.bench turns it on to measure the programs' time).
 * Run: npm run bench hookCost   (as root; ~1 minute; HOOK_ROUNDS, HOOK_CALLS change the length)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { record } from '../harness.ts';

const MODES = {
  per_syscall: 'programs on tracepoints syscalls/sys_exit_{read,write} (how the sensor hooks data calls)',
  every_syscall: 'a program on tp_btf/sys_exit (every syscall) returning unless the call is read or write',
  socket: 'programs on tp_btf/sock_{send,recv}_length (socket I/O only, any syscall)',
} as const;
const WORKLOADS = {
  file_write: '1-byte write to /dev/null',
  socket_write_read: '1-byte write and read through a Unix socket pair',
  getppid: 'getppid, a call no program hooks',
} as const;
type Timing = { seen: number } & Record<keyof typeof WORKLOADS, number>;
type Result = { rounds: number; calls: number; none: Timing } & Record<keyof typeof MODES, Timing>;
/** Calls per iteration each mode's programs see (file write, socket write + read). */
const EXPECTED_SEEN: Record<keyof typeof MODES, number> = { per_syscall: 3, every_syscall: 3, socket: 2 };

const src = join(import.meta.dirname, 'hookCost');

function build(dir: string): string {
  const obj = join(dir, 'hooks.bpf.o');
  execFileSync('clang', [
    '-O2',
    '-g',
    '-target',
    'bpf',
    '-D__TARGET_ARCH_x86',
    '-c',
    join(src, 'hooks.bpf.c'),
    '-o',
    obj,
  ]);
  const skel = execFileSync('bpftool', ['gen', 'skeleton', obj], { maxBuffer: 64 << 20 });
  execFileSync('sh', ['-c', `cat > ${join(dir, 'hooks.skel.h')}`], { input: skel });
  const bin = join(dir, 'driver');
  execFileSync('cc', ['-O2', `-I${dir}`, join(src, 'driver.c'), '-o', bin, '-lbpf']);
  return bin;
}

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('cannot run the hook cost benchmark: it needs root (eBPF)');
  const dir = mkdtempSync(join(tmpdir(), 'understory-hookcost-'));
  const stats = '/proc/sys/kernel/bpf_stats_enabled';
  const statsBefore = readFileSync(stats, 'utf8').trim();
  writeFileSync(stats, '0');
  try {
    const rounds = Number(process.env.HOOK_ROUNDS ?? 9);
    const calls = Number(process.env.HOOK_CALLS ?? 500_000);
    const out = execFileSync(build(dir), [String(rounds), String(calls)], { encoding: 'utf8' });
    const r = JSON.parse(out) as Result;
    const notes = (what: string) =>
      `${what}; median of ${r.rounds} alternating rounds of ${r.calls} iterations; baseline: no program attached, same run`;
    for (const [mode, how] of Object.entries(MODES) as [keyof typeof MODES, string][]) {
      // Each program counts the driver's calls while attached: fewer means a program did not run.
      const want = EXPECTED_SEEN[mode] * r.rounds * r.calls;
      if (r[mode].seen !== want)
        throw new Error(`hook cost: ${mode} saw ${r[mode].seen} calls, want ${want}`);
      for (const [work, what] of Object.entries(WORKLOADS) as [keyof typeof WORKLOADS, string][])
        record({
          benchmark: `hook-dispatch/${mode}`,
          metric: `${work}_ns`,
          value: r[mode][work],
          unit: 'ns',
          baseline: r.none[work],
          notes: notes(`${what} with ${how}`),
        });
    }
  } finally {
    writeFileSync(stats, statsBefore);
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
