import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processTree, sensorPrivilege, sensorSpec } from './sensorPlan.ts';

const ports = { ingesterPort: 9091, collectorPort: 4318, watcherPort: 9470 };

describe("up's sensor", () => {
  it('needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); TLS uprobes only with CAP_SYS_ADMIN', () => {
    const none = sensorPrivilege(new Set());
    expect(none.ok).toBe(false);
    expect(!none.ok && none.reason).toMatch(
      /needs root, or CAP_BPF and CAP_PERFMON \(missing here: CAP_BPF, CAP_PERFMON/,
    );
    expect(sensorPrivilege(new Set(['CAP_BPF', 'CAP_PERFMON', 'CAP_DAC_READ_SEARCH']))).toEqual({
      ok: true,
      tls: false,
    });
    expect(sensorPrivilege(new Set(['CAP_SYS_ADMIN', 'CAP_DAC_READ_SEARCH']))).toEqual({
      ok: true,
      tls: true,
    });
  });

  it("points at up's receivers and excludes up's processes as they are at each start", async () => {
    let pids = [11, 12];
    const spec = sensorSpec(
      { adminPort: 9465, pids: [], tls: false, excludePids: () => pids },
      ports,
      '/data',
      '/repo/bin/understory.mjs',
    );
    await spec.prepare!();
    expect(spec.args).toEqual([
      '--max-semi-space-size=2',
      '--single-threaded',
      '/repo/bin/understory.mjs',
      'sensor',
      '--remote-write-url',
      'http://127.0.0.1:9091/api/v1/write',
      '--otlp-url',
      'http://127.0.0.1:4318',
      '--k8s-watcher-url',
      'http://127.0.0.1:9470',
      '--data-dir',
      '/data',
      '--admin-host',
      '127.0.0.1',
      '--admin-port',
      '9465',
      '--stats-interval',
      '60',
      '--no-tls',
      '--exclude-pid',
      '11,12',
    ]);
    pids = [13]; // a component restarted with a new pid
    await spec.prepare!();
    expect(spec.args.slice(-2)).toEqual(['--exclude-pid', '13']);
    expect(spec.healthUrl).toBe('http://127.0.0.1:9465/healthz');
  });

  it('with --sensor-pid captures only those processes and excludes nothing', async () => {
    const spec = sensorSpec(
      { adminPort: 1, pids: [42], tls: true, excludePids: () => [1] },
      ports,
      '/d',
      'u',
    );
    await spec.prepare!();
    expect(spec.args).not.toContain('--exclude-pid');
    expect(spec.args).not.toContain('--no-tls');
    expect(spec.args.slice(-2)).toEqual(['--pid', '42']);
  });

  it('finds the processes a component started (the tree below its pid)', async () => {
    const parent = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore' });
    try {
      let tree: number[] = [];
      const deadline = Date.now() + 10_000;
      while (tree.length < 3 && Date.now() < deadline) {
        tree = processTree([parent.pid!]);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(tree).toHaveLength(3);
      expect(tree).toContain(parent.pid);
      expect(processTree([process.pid])).toContain(parent.pid);
    } finally {
      for (const pid of processTree([parent.pid!]).reverse()) process.kill(pid, 'SIGKILL');
    }
  });
});
