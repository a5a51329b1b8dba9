/**
 * The sensor's capture API: what the protocol pipeline consumes.
 *
 *   const capture = new SensorCapture({ onBatch(batch) { for (const ev of batch) ... } });
 *   await capture.start();   // typed CaptureError on missing privileges, tracefs, BTF, addon
 *   ...
 *   await capture.shutdown();
 *
 * Events (see events.ts): `data` (tsNs, pid, tid, fd, direction, tuple, role, length, data), `connect`,
 * `accept`, `close`, `exec`, `exit`, `fork`. A DataEvent's `data` is a view into the batch and is valid
 * only during the `onBatch` call that delivered it: copy what you keep.
 */
export { type CaptureOptions, type CaptureStats, resolveOptions, SensorCapture } from './capture.ts';
export {
  CaptureError,
  type CaptureErrorCode,
  effectiveCapabilities,
  MissingPrivilegesError,
  missingCapabilities,
} from './errors.ts';
export {
  type CaptureEvent,
  type ConnectionEvent,
  type DataEvent,
  type Direction,
  EventBatch,
  type EventKind,
  monotonicToEpochNs,
  type ProcessEvent,
  type SyscallName,
  type Transport,
  type Tuple,
} from './events.ts';
export { registerCaptureMetrics } from './metrics.ts';
export { type ProcessInfo, ProcessInfoCache, parseCgroup, readProcessInfo } from './processInfo.ts';
