import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupCpuQuota, LOTS, LoadShedder } from './loadShedder.ts';

/**
 * A sensor whose CPU per second is `perKeep * keep + idle` cores, and whose eBPF programs take
 * `kernelPerKeep * keep` cores of the applications' time: what a sensor whose work scales with the
 * connections it captures looks like to the controller.
 */
function simulated(limit: number, perKeep: number, idle = 0.01, kernelPerKeep = 0) {
  const applied: number[] = [];
  const salts: number[] = [];
  let nextSalt = 100;
  const clock = { t: 0, cpu: 0, kernelNs: 0, drops: 0, shed: 0, data: 0 };
  const shedder = new LoadShedder({
    cpuLimitCores: limit,
    apply: (lots, salt) => {
      applied.push(lots);
      if (salt !== undefined) salts.push(salt);
    },
    salt: () => nextSalt++,
    rotateMs: 10_000,
    counters: () => ({ drops: clock.drops, shed: clock.shed, kernelNs: clock.kernelNs }),
    dataEvents: () => clock.data,
    cpuSeconds: () => clock.cpu,
    now: () => clock.t,
  });
  /** One second of traffic: 10k data events, of which the shed share never reaches user space. */
  const second = (events = 10_000) => {
    clock.t += 1;
    clock.cpu += perKeep * shedder.keep + idle;
    clock.kernelNs += kernelPerKeep * shedder.keep * 1e9;
    const seen = Math.round(events * shedder.keep);
    clock.data += seen;
    clock.shed += events - seen;
    shedder.step();
  };
  shedder.step();
  return { shedder, applied, salts, clock, second };
}

describe('LoadShedder', () => {
  it('sheds down to the budget, holds there, and the weight undoes the share left out', () => {
    const { shedder, applied, second } = simulated(0.2, 0.8);
    second();
    expect(shedder.cpuCores).toBeCloseTo(0.81, 5);
    expect(shedder.keep).toBeLessThan(1);
    for (let i = 0; i < 20; i++) second();
    const used = 0.8 * shedder.keep + 0.01;
    expect(used).toBeLessThanOrEqual(0.2);
    expect(used).toBeGreaterThan(0.2 * 0.8 * 0.9); // not shed far below the budget
    // Settled: the last steps changed nothing.
    const settled = applied.length;
    for (let i = 0; i < 5; i++) second();
    expect(applied.length).toBe(settled);
    expect(applied.at(-1)).toBe(Math.round((1 - shedder.keep) * LOTS));
    // seen * weight = all data events
    expect(Math.round(10_000 * shedder.keep) * shedder.weight).toBeCloseTo(10_000, 0);
    // An idle second measures nothing: the share set stands in for the measured one.
    const keep = shedder.keep;
    second(10);
    expect(shedder.weight).toBeCloseTo(1 / keep, 9);
  });

  it("counts the programs' time on the applications' calls in the budget", () => {
    // The process alone (0.1 core at full capture) is under the 0.2 budget; with its programs it is not.
    const { shedder, second } = simulated(0.2, 0.1, 0.01, 0.15);
    for (let i = 0; i < 20; i++) second();
    expect(shedder.kernelCores).toBeCloseTo(0.15 * shedder.keep, 6);
    const used = 0.25 * shedder.keep + 0.01;
    expect(used).toBeLessThanOrEqual(0.2);
    expect(used).toBeGreaterThan(0.2 * 0.8 * 0.9);
    // The same process without that program time is not shed at all.
    const blind = simulated(0.2, 0.1, 0.01, 0);
    for (let i = 0; i < 20; i++) blind.second();
    expect(blind.shedder.keep).toBe(1);
  });

  it('weights each process by its own events seen and left out, else by the overall ratio', () => {
    let pidCounts = new Map<number, { seen: number; shed: number }>();
    const clock = { t: 0, data: 0, shed: 0 };
    const shedder = new LoadShedder({
      cpuLimitCores: 1,
      apply: () => undefined,
      counters: () => ({ drops: 0, shed: clock.shed }),
      dataEvents: () => clock.data,
      pidCounts: () => pidCounts,
      cpuSeconds: () => 0,
      now: () => clock.t,
    });
    shedder.step();
    // Process 7's connections were all kept, process 8 lost 63 in 64 of its events: overall 1 in 4 seen.
    pidCounts = new Map([
      [7, { seen: 900, shed: 0 }],
      [8, { seen: 100, shed: 6300 }],
      [9, { seen: 0, shed: 10 }],
    ]);
    clock.t = 1;
    clock.data = 1000;
    clock.shed = 6310;
    shedder.step();
    expect(shedder.weightOf(7)).toBe(1);
    expect(shedder.weightOf(8)).toBe(64);
    expect(shedder.weight).toBeCloseTo(7.31, 9);
    // No events of its own seen (9), unknown (10) or no pid: the overall ratio.
    expect(shedder.weightOf(9)).toBe(shedder.weight);
    expect(shedder.weightOf(10)).toBe(shedder.weight);
    expect(shedder.weightOf(undefined)).toBe(shedder.weight);
    // Stopped (shutdown): calls captured before still count for their process's last ratio.
    const last = shedder.weightOf(8);
    expect(last).toBeGreaterThan(1);
    shedder.stop();
    expect(shedder.keep).toBe(1);
    expect(shedder.weightOf(8)).toBe(last);
  });

  it('while shedding, a new salt every rotateMs changes which connections are left out', () => {
    const { shedder, applied, salts, clock, second } = simulated(0.2, 0.8);
    for (let i = 0; i < 25; i++) second();
    expect(shedder.keep).toBeLessThan(1);
    // Shedding began at the first step: rotations at 10 s and 20 s of it, each with the current threshold.
    expect(salts).toEqual([100, 101]);
    expect(shedder.rotations).toBe(2);
    expect(applied.at(-1)).toBe(Math.round((1 - shedder.keep) * LOTS));
    // Not shedding: no rotation.
    for (let i = 0; i < 40; i++) {
      clock.t += 1;
      clock.cpu += 0.001;
      shedder.step();
    }
    expect(shedder.keep).toBe(1);
    const rotations = shedder.rotations;
    for (let i = 0; i < 30; i++) {
      clock.t += 1;
      clock.cpu += 0.001;
      shedder.step();
    }
    expect(shedder.rotations).toBe(rotations);
  });

  it('captures everything again once the load is gone, and never goes below minKeep', () => {
    const { shedder, applied, clock, second } = simulated(0.05, 10);
    for (let i = 0; i < 10; i++) second();
    expect(shedder.keep).toBe(1 / 64);
    // Load gone: the CPU per captured share drops to almost nothing.
    for (let i = 0; i < 30; i++) {
      clock.t += 1;
      clock.cpu += 0.001;
      shedder.step();
    }
    expect(shedder.keep).toBe(1);
    expect(applied.at(-1)).toBe(0);
    expect(shedder.weight).toBe(1);
  });

  it('ring drops under the budget shrink the share too; stop() captures everything', () => {
    const { shedder, applied, clock, second } = simulated(1, 0.1);
    second();
    expect(shedder.keep).toBe(1);
    expect(applied).toEqual([]);
    clock.drops += 500;
    second();
    expect(shedder.keep).toBeCloseTo(0.7, 5);
    expect(shedder.shrinks).toBe(1);
    shedder.stop();
    expect(shedder.keep).toBe(1);
    expect(applied.at(-1)).toBe(0);
  });

  it('without a CPU budget, ring drops alone shrink the share, and it grows back while there are none', () => {
    const applied: number[] = [];
    const clock = { t: 0, cpu: 0, drops: 0 };
    const shedder = new LoadShedder({
      cpuLimitCores: 0,
      apply: (lots) => applied.push(lots),
      counters: () => ({ drops: clock.drops, shed: 0 }),
      dataEvents: () => 0,
      cpuSeconds: () => clock.cpu,
      now: () => clock.t,
    });
    shedder.step();
    const second = (drops: number, cpu = 3) => {
      clock.t += 1;
      clock.cpu += cpu; // however busy: no budget to keep to
      clock.drops += drops;
      shedder.step();
    };
    second(0);
    expect(shedder.keep).toBe(1);
    second(500);
    expect(shedder.keep).toBeCloseTo(0.7, 9);
    second(20);
    expect(shedder.keep).toBeCloseTo(0.49, 9);
    second(0);
    expect(shedder.keep).toBeCloseTo(0.6125, 9);
    for (let i = 0; i < 5; i++) second(0);
    expect(shedder.keep).toBe(1);
    expect(applied.at(-1)).toBe(0);
  });

  it('refuses a budget or interval out of range', () => {
    const base = { apply: () => {}, counters: () => ({ drops: 0, shed: 0 }), dataEvents: () => 0 };
    expect(() => new LoadShedder({ ...base, cpuLimitCores: -1 })).toThrow(/cpuLimitCores is -1/);
    expect(() => new LoadShedder({ ...base, cpuLimitCores: 2000 })).toThrow(/cpuLimitCores is 2000/);
    expect(() => new LoadShedder({ ...base, cpuLimitCores: Number.NaN })).toThrow(/cpuLimitCores/);
    expect(() => new LoadShedder({ ...base, cpuLimitCores: 1, intervalMs: 5 })).toThrow(/intervalMs is 5/);
    expect(() => new LoadShedder({ ...base, cpuLimitCores: 1, minKeep: 0 })).toThrow(/minKeep is 0/);
    expect(() => new LoadShedder({ ...base, cpuLimitCores: 1, rotateMs: 10 })).toThrow(/rotateMs is 10/);
  });
});

describe('cgroupCpuQuota', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cgroup-'));
  const write = (path: string, text: string) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };

  it('reads cgroup v2 cpu.max of the process cgroup', () => {
    write('v2/self', '0::/kubepods/pod1/sensor\n');
    write('v2/fs/kubepods/pod1/sensor/cpu.max', '50000 100000\n');
    expect(cgroupCpuQuota(join(dir, 'v2/self'), join(dir, 'v2/fs'))).toBe(0.5);
    write('v2/fs/kubepods/pod1/sensor/cpu.max', 'max 100000\n');
    expect(cgroupCpuQuota(join(dir, 'v2/self'), join(dir, 'v2/fs'))).toBeUndefined();
  });

  it('reads cgroup v1 cfs quota; none when unlimited or unreadable', () => {
    write('v1/self', '12:memory:/x\n4:cpu,cpuacct:/docker/abc\n0::/\n');
    write('v1/fs/cpu,cpuacct/docker/abc/cpu.cfs_quota_us', '150000\n');
    write('v1/fs/cpu,cpuacct/docker/abc/cpu.cfs_period_us', '100000\n');
    expect(cgroupCpuQuota(join(dir, 'v1/self'), join(dir, 'v1/fs'))).toBe(1.5);
    write('v1/fs/cpu,cpuacct/docker/abc/cpu.cfs_quota_us', '-1\n');
    expect(cgroupCpuQuota(join(dir, 'v1/self'), join(dir, 'v1/fs'))).toBeUndefined();
    expect(cgroupCpuQuota(join(dir, 'missing'), dir)).toBeUndefined();
  });
});
