/**
 * IPv4 fragment reassembly (RFC 791), bounded: at most MAX_DATAGRAMS datagrams in progress, each at most
 * 64 KiB, dropped after FRAGMENT_TIMEOUT_NS. Overlapping fragments keep the first copy.
 */
const MAX_DATAGRAMS = 256;
const MAX_DATAGRAM_BYTES = 65_535;
const FRAGMENT_TIMEOUT_NS = 30_000_000_000n;

interface Pending {
  firstNs: bigint;
  parts: { offset: number; data: Uint8Array }[];
  /** Known once the last fragment (MF clear) arrived. */
  totalLength: number;
}

export class IpFragmentReassembler {
  private readonly pending = new Map<string, Pending>();
  dropped = 0;

  /** Adds a fragment; returns the whole payload once every byte is there. Copies what it keeps. */
  add(key: string, offset: number, more: boolean, data: Uint8Array, tsNs: bigint): Uint8Array | undefined {
    this.expire(tsNs);
    if (offset + data.length > MAX_DATAGRAM_BYTES) {
      this.dropped++;
      return undefined;
    }
    let p = this.pending.get(key);
    if (p === undefined) {
      if (this.pending.size >= MAX_DATAGRAMS) {
        const oldest = this.pending.keys().next().value as string;
        this.pending.delete(oldest);
        this.dropped++;
      }
      p = { firstNs: tsNs, parts: [], totalLength: -1 };
      this.pending.set(key, p);
    }
    p.parts.push({ offset, data: data.slice() });
    if (!more) p.totalLength = offset + data.length;
    if (p.totalLength < 0) return undefined;
    const whole = new Uint8Array(p.totalLength);
    const covered = new Uint8Array(p.totalLength);
    for (const part of p.parts) {
      const n = Math.min(part.data.length, p.totalLength - part.offset);
      if (n <= 0) continue;
      whole.set(part.data.subarray(0, n), part.offset);
      covered.fill(1, part.offset, part.offset + n);
    }
    if (covered.includes(0)) return undefined;
    this.pending.delete(key);
    return whole;
  }

  private expire(nowNs: bigint): void {
    for (const [key, p] of this.pending) {
      if (nowNs - p.firstNs < FRAGMENT_TIMEOUT_NS) break;
      this.pending.delete(key);
      this.dropped++;
    }
  }
}
