/**
 * A bounds-checked cursor over one Kafka message. Reads past `end` throw `OutOfRange`, which callers turn
 * into "field not available" (a truncated or unexpected body), never a crash.
 */
export class OutOfRange extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class KafkaReader {
  constructor(
    private readonly buf: Uint8Array,
    public pos: number,
    private readonly end: number,
  ) {}

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new OutOfRange();
  }

  int8(): number {
    this.need(1);
    return (this.buf[this.pos++]! << 24) >> 24;
  }

  int16(): number {
    this.need(2);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return (v << 16) >> 16;
  }

  int32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  uvarint(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      this.need(1);
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
    }
    throw new OutOfRange();
  }

  /** A zigzag varint (record fields of message format v2): at most 5 bytes. */
  varint(): number {
    const n = this.uvarint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  /** A zigzag varlong (record timestamps), skipped: at most 10 bytes. */
  skipVarlong(): void {
    for (let i = 0; i < 10; i++) {
      this.need(1);
      if ((this.buf[this.pos++]! & 0x80) === 0) return;
    }
    throw new OutOfRange();
  }

  /** `n` bytes as UTF-8 text, at most `max` of them decoded (the rest skipped). */
  textOf(n: number, max = 256): string {
    return this.text(n, max);
  }

  /** STRING / NULLABLE_STRING (int16 length, -1 = null). */
  string(max = 256): string | null {
    const n = this.int16();
    if (n < 0) return null;
    return this.text(n, max);
  }

  /** COMPACT_STRING / COMPACT_NULLABLE_STRING (uvarint length + 1, 0 = null). */
  compactString(max = 256): string | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    return this.text(n, max);
  }

  private text(n: number, max: number): string {
    this.need(n);
    const s = utf8.decode(this.buf.subarray(this.pos, this.pos + Math.min(n, max)));
    this.pos += n;
    return s;
  }

  /** ARRAY length (int32, -1 = null) or COMPACT_ARRAY length (uvarint + 1). */
  arrayLength(compact: boolean): number {
    return compact ? this.uvarint() - 1 : this.int32();
  }

  /** COMPACT_NULLABLE_BYTES: uvarint length + 1 (0 = null), then the bytes. */
  skipCompactBytes(): void {
    const n = this.uvarint() - 1;
    if (n > 0) this.skip(n);
  }

  /** A tagged-fields section: a count, then (tag, size, bytes) each. */
  taggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }

  uuidHex(): string {
    this.need(16);
    let s = '';
    for (let i = 0; i < 16; i++) s += this.buf[this.pos + i]!.toString(16).padStart(2, '0');
    this.pos += 16;
    return s;
  }
}
