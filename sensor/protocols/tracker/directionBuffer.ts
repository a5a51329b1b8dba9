/**
 * Bytes of one direction of one connection that a parser has not consumed yet, with the capture time of
 * each chunk so a frame starting anywhere gets the time its first byte was seen.
 *
 * Ownership: the buffer copies what it keeps; callers may reuse the arrays they pass to `append`.
 * Only the tracker's thread (the event loop that feeds it) touches it.
 */
const MAX_CHUNK_MARKS = 64;

export class DirectionBuffer {
  private data = new Uint8Array(0);
  private start = 0;
  private end = 0;
  /** Offsets (in `data` coordinates) where chunks begin, ascending, and their capture times. */
  private markOffsets: number[] = [];
  private markTs: bigint[] = [];

  get length(): number {
    return this.end - this.start;
  }

  /** The unconsumed bytes; valid until the next `append`, `consume` or `clear`. */
  view(): { buf: Uint8Array; offset: number; end: number } {
    return { buf: this.data, offset: this.start, end: this.end };
  }

  /** Capture time of the byte at `offset` (in `view()` coordinates). */
  tsAt(offset: number): bigint {
    let ts = this.markTs[0] ?? 0n;
    for (let i = 0; i < this.markOffsets.length; i++) {
      if (this.markOffsets[i]! > offset) break;
      ts = this.markTs[i]!;
    }
    return ts;
  }

  append(chunk: Uint8Array, from: number, tsNs: bigint): void {
    const n = chunk.length - from;
    if (n <= 0) return;
    this.reserve(n);
    this.data.set(from === 0 ? chunk : chunk.subarray(from), this.end);
    this.mark(this.end, tsNs);
    this.end += n;
  }

  /** Marks `n` bytes from the front as consumed. */
  consume(n: number): void {
    this.start = Math.min(this.end, this.start + n);
    if (this.start === this.end) this.clear();
  }

  clear(): void {
    this.start = 0;
    this.end = 0;
    this.markOffsets.length = 0;
    this.markTs.length = 0;
    // Give large buffers back: a connection that once carried a big message should not keep it.
    if (this.data.length > 64 * 1024) this.data = new Uint8Array(0);
  }

  private mark(offset: number, tsNs: bigint): void {
    if (this.markOffsets.length >= MAX_CHUNK_MARKS) {
      // Keep the oldest mark (the frame being assembled starts there) and drop the second oldest.
      this.markOffsets.splice(1, 1);
      this.markTs.splice(1, 1);
    }
    this.markOffsets.push(offset);
    this.markTs.push(tsNs);
  }

  private reserve(n: number): void {
    if (this.end + n <= this.data.length) return;
    const live = this.end - this.start;
    if (live + n <= this.data.length && this.start > 0) {
      this.data.copyWithin(0, this.start, this.end);
    } else {
      const next = new Uint8Array(Math.max(1024, (live + n) * 2));
      next.set(this.data.subarray(this.start, this.end));
      this.data = next;
    }
    for (let i = 0; i < this.markOffsets.length; i++) {
      this.markOffsets[i] = Math.max(0, this.markOffsets[i]! - this.start);
    }
    this.end = live;
    this.start = 0;
  }
}
