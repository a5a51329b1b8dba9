import { MAX_TEXT } from './types.ts';

/** Big-endian readers over the tracker's buffer; callers check bounds first. */
export const u16 = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
export const u32 = (b: Uint8Array, i: number) =>
  ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
export const u64 = (b: Uint8Array, i: number) => (BigInt(u32(b, i)) << 32n) | BigInt(u32(b, i + 4));

export const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * A bounds-checked cursor over one frame's payload (`end` = its end): a read that does not fit returns
 * undefined and leaves `p` where it was. Strings are decoded copies: nothing keeps `b`.
 */
export class AmqpReader {
  constructor(
    private readonly b: Uint8Array,
    public p: number,
    readonly end: number,
  ) {}
  ok(n: number): boolean {
    return this.p + n <= this.end;
  }
  short(): number | undefined {
    if (!this.ok(2)) return undefined;
    const v = u16(this.b, this.p);
    this.p += 2;
    return v;
  }
  long(): bigint | undefined {
    if (!this.ok(8)) return undefined;
    const v = u64(this.b, this.p);
    this.p += 8;
    return v;
  }
  /** Cut to `MAX_TEXT` bytes. */
  shortstr(): string | undefined {
    if (!this.ok(1)) return undefined;
    const n = this.b[this.p]!;
    if (!this.ok(1 + n)) return undefined;
    const s = utf8.decode(this.b.subarray(this.p + 1, this.p + 1 + Math.min(n, MAX_TEXT)));
    this.p += 1 + n;
    return s;
  }
}
