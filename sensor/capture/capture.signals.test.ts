import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADDON_PATH } from './native.ts';

// The verifier aborts with EAGAIN while a signal is pending. A profiled sensor (`node --cpu-prof`) gets a
// SIGPROF every sampling interval, so before the addon held signals back during the load, every start
// failed with "cannot load the capture eBPF programs: Resource temporarily unavailable".
const LOAD = `
const { CaptureSession } = require(${JSON.stringify(ADDON_PATH)});
const s = new CaptureSession({ ringBytes: 1 << 20, batchBytes: 1 << 16, pollMs: 50, maxInFlight: 2 });
s.load();
s.close();
console.log('LOADED');`;

describe('capture load under signals', () => {
  it('loads the eBPF programs while a CPU profiler signals the thread every 50 µs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpu-prof-'));
    try {
      const run = spawnSync(
        process.execPath,
        ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', dir, '-e', LOAD],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(run.stderr + run.stdout).toContain('LOADED');
      expect(run.status).toBe(0);
      // The profiler really ran (its signals were there to hold back).
      expect(readdirSync(dir).some((f) => f.endsWith('.cpuprofile'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
