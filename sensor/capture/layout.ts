import { CaptureError } from './errors.ts';

/**
 * Byte offsets of the records in sensor/bpf/capture.h. Each batch record is
 * [u32 size][u32 0][record bytes, padded to 8]; every record starts with the common header.
 * `checkLayout` compares these with what the addon was compiled against and refuses to decode if they
 * differ, so a changed C struct can never be read with stale offsets.
 */
export const L = {
  headerSize: 24,
  'header.tsNs': 0,
  'header.pid': 8,
  'header.tid': 12,
  'header.fd': 16,
  'header.kind': 20,
  'header.flags': 21,
  'header.shedBefore': 22,
  tupleSize: 40,
  'tuple.laddr': 0,
  'tuple.raddr': 16,
  'tuple.lport': 32,
  'tuple.rport': 34,
  'tuple.family': 36,
  'tuple.protocol': 38,
  'tuple.role': 39,
  'conn.tuple': 24,
  'conn.ret': 64,
  connSize: 72,
  'data.tuple': 24,
  'data.len': 64,
  'data.capLen': 68,
  'data.direction': 72,
  'data.syscall': 73,
  dataSize: 80,
  'proc.ppid': 24,
  'proc.childPid': 28,
  'proc.exitCode': 32,
  'proc.comm': 40,
  procSize: 56,
  maxData: 4096,
} as const;

/** Size of the per-record prefix the addon writes into a batch. */
export const RECORD_PREFIX = 8;

export function checkLayout(native: Record<string, number>): void {
  const diffs = Object.entries(L)
    .filter(([k, v]) => native[k] !== v)
    .map(([k, v]) => `${k}: decoder ${v}, addon ${native[k]}`);
  if (diffs.length > 0) {
    throw new CaptureError(
      'layout-mismatch',
      `cannot decode capture events: sensor/capture/layout.ts disagrees with capture.h (${diffs.join('; ')})`,
    );
  }
}
