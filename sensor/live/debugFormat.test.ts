import { describe, expect, it } from 'vitest';
import type { CaptureEvent } from '../capture/events.ts';
import { DebugProcessFilter } from './debugFormat.ts';

const proc = (kind: 'exec' | 'exit' | 'fork', pid: number, parentPid = 0, childPid = 0) =>
  ({ kind, pid, tid: pid, tsNs: 1n, comm: 'x', parentPid, childPid, exitCode: 0 }) as unknown as CaptureEvent;

describe('DebugProcessFilter (--debug with --pid)', () => {
  it('shows the chosen processes and the children they fork, not the rest of the host', () => {
    const f = new DebugProcessFilter([100]);
    expect(f.shows(proc('exec', 200))).toBe(false);
    expect(f.shows(proc('fork', 200, 200, 201))).toBe(false);
    expect(f.shows(proc('exec', 201))).toBe(false);
    expect(f.shows(proc('fork', 100, 100, 101))).toBe(true);
    expect(f.shows(proc('exec', 101))).toBe(true);
    expect(f.shows(proc('exit', 101))).toBe(true);
    expect(f.shows(proc('exit', 200))).toBe(false);
    // Data and connection events are filtered in the kernel already.
    expect(f.shows({ kind: 'data', pid: 999 } as unknown as CaptureEvent)).toBe(true);
  });

  it('shows everything without --pid', () => {
    const f = new DebugProcessFilter([]);
    expect(f.shows(proc('exec', 200))).toBe(true);
    expect(f.shows(proc('fork', 200, 200, 201))).toBe(true);
  });
});
