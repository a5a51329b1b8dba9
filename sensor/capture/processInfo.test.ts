import { describe, expect, it } from 'vitest';
import { CaptureError, effectiveCapabilities, missingCapabilities, resolveOptions } from './index.ts';
import { parseCgroup, readProcessInfo } from './processInfo.ts';
import { systemLibssl } from './tlsAttacher.ts';

const ID = 'a'.repeat(8) + '0123456789abcdef'.repeat(3) + 'b'.repeat(8);

describe('container identity from /proc/<pid>/cgroup', () => {
  it.each([
    [
      'cgroup v2, containerd under systemd',
      `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901.slice/cri-containerd-${ID}.scope\n`,
      ID,
      '1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901',
    ],
    ['cgroup v1, docker', `12:memory:/docker/${ID}\n11:cpu,cpuacct:/docker/${ID}\n0::/\n`, ID, undefined],
    [
      'cgroup v1, kubepods cgroupfs driver',
      `4:pids:/kubepods/besteffort/pod0f0e0d0c-0b0a-0908-0706-050403020100/${ID}\n`,
      ID,
      '0f0e0d0c-0b0a-0908-0706-050403020100',
    ],
    [
      'cgroup v2, CRI-O',
      `0::/kubepods.slice/kubepods-pod11111111_2222_3333_4444_555555555555.slice/crio-${ID}.scope\n`,
      ID,
      '11111111-2222-3333-4444-555555555555',
    ],
    ['cgroup v2, docker with systemd', `0::/system.slice/docker-${ID}.scope\n`, ID, undefined],
    [
      'hybrid host process (this machine)',
      '12:pids:/\n1:name=systemd:/init.scope\n0::/\n',
      undefined,
      undefined,
    ],
    ['systemd service', '0::/system.slice/nginx.service\n', undefined, undefined],
  ])('%s', (_name, text, containerId, podUid) => {
    expect(parseCgroup(text)).toEqual({
      ...(containerId ? { containerId } : {}),
      ...(podUid ? { podUid } : {}),
    });
  });

  it('reads this process', () => {
    const me = readProcessInfo(process.pid)!;
    expect(me.exe).toBe(process.execPath);
    expect(me.comm.length).toBeGreaterThan(0);
    expect(readProcessInfo(2 ** 30)).toBeUndefined();
  });
});

describe('privileges and options', () => {
  it('reads effective capabilities and names what is missing', () => {
    const none = effectiveCapabilities('CapEff:\t0000000000000000\n');
    expect(none.size).toBe(0);
    const bpfOnly = effectiveCapabilities('CapEff:\t000000c000000000\n');
    expect([...bpfOnly].sort()).toEqual(['CAP_BPF', 'CAP_PERFMON']);
    expect(missingCapabilities(bpfOnly)).toContain('CAP_SYS_ADMIN');
    expect(missingCapabilities(effectiveCapabilities('CapEff:\t000001ffffffffff\n'))).toEqual([]);
  });

  it.each([
    [{ ringBytes: 3000 }, /ringBytes is 3000/],
    [{ dataCap: 5000 }, /dataCap is 5000/],
    [{ pollMs: 0 }, /pollMs is 0/],
    [{ includePids: [-1] }, /a pid is -1/],
    [{ ringBytes: 65536, wakeBytes: 70000 }, /wakeBytes is 70000/],
  ])('rejects %j', (bad, message) => {
    expect(() => resolveOptions({ onBatch: () => {}, ...bad })).toThrow(CaptureError);
    expect(() => resolveOptions({ onBatch: () => {}, ...bad })).toThrow(message);
  });

  it('finds the system libssl', () => {
    expect(systemLibssl().some((p) => /libssl\.so\.3$/.test(p))).toBe(true);
  });
});
