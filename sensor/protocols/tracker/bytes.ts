/**
 * Byte helpers for parsers that must not convert whole buffers to strings on hot paths.
 * Every function only reads `buf` during the call.
 */
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Index of the first CRLFCRLF at or after `from` (before `end`), or -1. */
export function indexOfCrlfCrlf(buf: Uint8Array, from: number, end: number): number {
  for (let i = from + 3; i < end; i++) {
    // Jump on the last byte of the pattern: most bytes are not '\n'.
    if (buf[i] !== 10) continue;
    if (buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i - 3;
  }
  return -1;
}

/** Index of the first CRLF at or after `from`, or -1. */
export function indexOfCrlf(buf: Uint8Array, from: number, end: number): number {
  for (let i = from + 1; i < end; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13) return i - 1;
  }
  return -1;
}

export function indexOfByte(buf: Uint8Array, byte: number, from: number, end: number): number {
  const i = findByte(buf, byte, from);
  return i < end ? i : -1;
}

const bufferIndexOf = Buffer.prototype.indexOf as (
  this: Uint8Array,
  value: number,
  byteOffset: number,
) => number;

/**
 * Index of `byte` at or after `from` up to the end of `buf`, or -1. Node's Buffer search (memchr) accepts
 * any Uint8Array and costs a fraction of a JavaScript loop or TypedArray#indexOf.
 */
export function findByte(buf: Uint8Array, byte: number, from: number): number {
  if (from >= buf.length) return -1;
  return bufferIndexOf.call(buf, byte, from);
}

/** Node's native Latin-1 slice works on any Uint8Array and is several times faster than TextDecoder here. */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: (start: number, end: number) => string })
  .latin1Slice;

/** Decodes bytes as Latin-1 (each byte one char): exact for HTTP tokens and header values. */
export function latin1String(buf: Uint8Array, start: number, end: number): string {
  if (latin1Slice !== undefined) return latin1Slice.call(buf, start, end);
  return latin1.decode(buf.subarray(start, end));
}

export function utf8String(buf: Uint8Array, start: number, end: number): string {
  return utf8.decode(buf.subarray(start, end));
}

/** True when `buf[at..]` starts with the ASCII `text`. */
export function startsWithAscii(buf: Uint8Array, at: number, end: number, text: string): boolean {
  if (end - at < text.length) return false;
  for (let i = 0; i < text.length; i++) if (buf[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Case-insensitive compare of `buf[at..at+text.length)` with a lower-case ASCII `text`. */
export function equalsLowerAscii(buf: Uint8Array, at: number, len: number, text: string): boolean {
  if (len !== text.length) return false;
  for (let i = 0; i < len; i++) {
    let c = buf[at + i]!;
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== text.charCodeAt(i)) return false;
  }
  return true;
}

/** Parses a non-negative decimal integer; -1 when empty, not digits or beyond 2^53. */
export function parseDecimal(buf: Uint8Array, start: number, end: number): number {
  if (start >= end) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
    if (n > Number.MAX_SAFE_INTEGER) return -1;
  }
  return n;
}

export function readU16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

export function readU24(buf: Uint8Array, at: number): number {
  return (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
}

export function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) >>> 0) + ((buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!);
}
