import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureError } from './errors.ts';

/**
 * The native addon's surface (sensor/native/src). Thin on purpose: every method runs on the JavaScript
 * thread except the batch delivery, which the addon's reader thread queues to the JavaScript thread.
 */
export interface NativeStats {
  events: number;
  drops: number;
  droppedBytes: number;
  truncated: number;
  tlsCiphertextSkipped: number;
  tlsUnattributed: number;
  wakeups: number;
  /** Data events not captured because their connection was shed (load shedding). */
  shed: number;
  /**
   * Estimated time of the eBPF programs on traced calls, in ns (sampled one call in 16 per CPU): what the
   * capture adds to the observed applications' calls, beyond a hook's fixed cost.
   */
  kernelNs: number;
  records: number;
  batches: number;
  batchBytes: number;
  readerStalls: number;
  pollErrors: number;
}

export interface NativeProgramStats {
  name: string;
  runCount: number;
  runTimeNs: number;
}

export interface NativeConfig {
  dataCap: number;
  msgStartCap: number;
  wakeBytes: number;
  pidIncludeOnly: number;
  cgroupIncludeOnly: number;
  /** 1 when any cgroup filter is set; 0 lets the hooks skip the cgroup lookup. */
  cgroupFilters: number;
}

export interface NativeSession {
  load(): void;
  attach(): number;
  attachUprobes(path: string): number;
  /** `onBatch` runs on the JavaScript thread; `buffer` holds `records` length-prefixed records. */
  start(onBatch: (buffer: ArrayBuffer, records: number) => void): void;
  stop(): void;
  close(): void;
  stats(): NativeStats;
  programStats(): NativeProgramStats[];
  setConfig(config: NativeConfig): void;
  /**
   * Load shedding: connections whose 16-bit lot (a hash of their port pair and `salt`) is below `lots`
   * (0..65536) are not captured. The salt (u32) stays as it was when not given.
   */
  setShed(lots: number, salt?: number): void;
  /** mode: 0 remove, 1 include, 2 exclude, 3 exclude this pid but include what it forks. */
  setFilter(kind: 'pid' | 'cgroup', id: number | bigint, mode: 0 | 1 | 2 | 3): void;
}

export interface NativeModule {
  CaptureSession: new (options: {
    ringBytes: number;
    batchBytes: number;
    pollMs: number;
    maxInFlight: number;
  }) => NativeSession;
  layout: Record<string, number>;
}

export const ADDON_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '../native/build/Release/understory_capture.node',
);

let cached: NativeModule | undefined;

export function loadNative(path = ADDON_PATH): NativeModule {
  if (cached) return cached;
  if (!existsSync(path)) {
    throw new CaptureError(
      'addon-missing',
      `cannot load the sensor addon: ${path} does not exist; build it with \`node scripts/build-native.mjs\``,
    );
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as NativeModule;
  return cached;
}
