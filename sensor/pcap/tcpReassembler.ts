/**
 * Reassembles one direction of a TCP connection into an in-order byte stream: drops retransmitted bytes,
 * trims overlaps, holds out-of-order segments (bounded) until the hole fills, and declares a gap when the
 * hole does not fill in time (too much held, or the flow ends). A capture that starts mid-connection starts
 * the stream at the first segment seen.
 *
 * Sequence arithmetic is modulo 2^32 (RFC 9293 3.4).
 */
export const MAX_HELD_BYTES = 1024 * 1024;
export const MAX_HELD_SEGMENTS = 512;

export interface StreamSink {
  data(bytes: Uint8Array, tsNs: bigint): void;
  /** Bytes between the last delivered and the next delivered were never seen. */
  gap(): void;
}

interface Held {
  seq: number;
  data: Uint8Array;
  tsNs: bigint;
}

export class TcpReassembler {
  private next: number | undefined;
  private held: Held[] = [];
  private heldBytes = 0;
  /** Highest sequence number the peer acknowledged: bytes before it reached the peer, seen or not. */
  private acked: number | undefined;
  retransmittedBytes = 0;
  gaps = 0;

  constructor(private readonly sink: StreamSink) {}

  /** A SYN fixes the initial sequence number: data starts at seq + 1. */
  syn(seq: number): void {
    this.next = (seq + 1) >>> 0;
    this.acked = undefined;
    this.held = [];
    this.heldBytes = 0;
  }

  /** A segment's payload (possibly empty). `data` is copied only when it must be held. */
  segment(seq: number, data: Uint8Array, tsNs: bigint): void {
    if (data.length === 0) return;
    if (this.next === undefined) this.next = seq;
    const rel = (seq - this.next) | 0;
    if (rel <= 0) {
      const skip = -rel;
      if (skip >= data.length) {
        this.retransmittedBytes += data.length;
        return;
      }
      this.retransmittedBytes += skip;
      this.deliver(data.subarray(skip), tsNs);
      this.drain();
      return;
    }
    this.hold(seq, data, tsNs);
    if (this.heldBytes > MAX_HELD_BYTES || this.held.length > MAX_HELD_SEGMENTS || this.holeAcked())
      this.skipGap();
  }

  /**
   * The peer acknowledged up to `ack`. A hole before it was delivered to the peer but missed by the
   * capture, so waiting for it is pointless: skip it now rather than at the end of the flow.
   */
  peerAck(ack: number): void {
    if (this.acked === undefined || ((ack - this.acked) | 0) > 0) this.acked = ack;
    while (this.held.length > 0 && this.holeAcked()) this.skipGap();
  }

  private holeAcked(): boolean {
    if (this.acked === undefined || this.next === undefined || this.held.length === 0) return false;
    return ((this.acked - this.next) | 0) > 0;
  }

  /** The flow ended (FIN, RST, end of capture): whatever is held is delivered after a gap. */
  flush(): void {
    while (this.held.length > 0) this.skipGap();
  }

  private deliver(bytes: Uint8Array, tsNs: bigint): void {
    this.next = ((this.next ?? 0) + bytes.length) >>> 0;
    this.sink.data(bytes, tsNs);
  }

  private hold(seq: number, data: Uint8Array, tsNs: bigint): void {
    const entry: Held = { seq, data: data.slice(), tsNs };
    // Keep `held` sorted by distance from `next` so draining looks at the front only.
    const base = this.next!;
    const key = (seq - base) | 0;
    let i = this.held.length;
    while (i > 0 && ((this.held[i - 1]!.seq - base) | 0) > key) i--;
    this.held.splice(i, 0, entry);
    this.heldBytes += data.length;
  }

  private drain(): void {
    while (this.held.length > 0) {
      const h = this.held[0]!;
      const rel = (h.seq - this.next!) | 0;
      if (rel > 0) return;
      this.held.shift();
      this.heldBytes -= h.data.length;
      const skip = -rel;
      if (skip < h.data.length) this.deliver(h.data.subarray(skip), h.tsNs);
      else this.retransmittedBytes += h.data.length;
    }
  }

  private skipGap(): void {
    const h = this.held[0];
    if (h === undefined) return;
    this.gaps++;
    this.sink.gap();
    this.next = h.seq;
    this.drain();
  }
}
