import { constants, gunzipSync } from 'node:zlib';
import { zstdPrefix } from '../zstd.ts';

/**
 * The records of a compressed record batch (attributes bits 0-2: 1 gzip, 2 snappy, 3 lz4, 4 zstd), as far
 * as the captured bytes go. The capture keeps a message's first bytes and fills the rest with zeros, so the
 * zeros at the end are cut first and each decoder stops quietly where its input ends: the first records,
 * whose headers are what a span needs, come out of a prefix. Output is bounded (MAX_DECOMPRESSED).
 * Hence snappy and lz4 decoders of our own: the `snappy` and `snappyjs` packages the project has refuse a
 * cut block whole, and there is no lz4 package. zstd (Node 20's zlib has none) goes through ../zstd.ts,
 * whole blocks only (zstd's entropy-coded blocks cannot be read in part).
 */
export const MAX_DECOMPRESSED = 64 * 1024;

export const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Codec = (typeof CODECS)[number];

/** Decompressed bytes of `data` (the batch's records field), or undefined when they cannot be read here. */
export function decompressRecords(codec: number, data: Uint8Array): Uint8Array | undefined {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  const input = data.subarray(0, end);
  if (input.length === 0) return undefined;
  try {
    switch (codec) {
      case 1:
        // Z_SYNC_FLUSH: a cut stream gives what it holds instead of an error.
        return gunzipSync(input, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 1 << 20 }).subarray(
          0,
          MAX_DECOMPRESSED,
        );
      case 2:
        return snappyRecords(input);
      case 3:
        return lz4Frame(input);
      case 4:
        // Untrimmed: a raw block may end in real zeros (a last record without headers). Fill zeros
        // decoded as part of a block come out as zeros, where the record reader stops anyway.
        return zstdPrefix(data, MAX_DECOMPRESSED); // whole blocks only (../zstd.ts)
      default:
        return undefined;
    }
  } catch {
    return undefined; // not what the codec says, or past maxOutputLength: counted only
  }
}

/** Xerial's framing (Kafka's Java client): magic, version, compatible version, then [u32 length][block]. */
const XERIAL = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];

function snappyRecords(input: Uint8Array): Uint8Array | undefined {
  if (input.length < 16 || !XERIAL.every((b, i) => input[i] === b)) return snappyBlock(input);
  const out: Uint8Array[] = [];
  let size = 0;
  for (let p = 16; p + 4 <= input.length && size < MAX_DECOMPRESSED; ) {
    const n = ((input[p]! << 24) | (input[p + 1]! << 16) | (input[p + 2]! << 8) | input[p + 3]!) >>> 0;
    p += 4;
    const block = snappyBlock(input.subarray(p, Math.min(input.length, p + n)));
    if (!block) break;
    out.push(block);
    size += block.length;
    p += n;
  }
  return out.length === 0 ? undefined : Buffer.concat(out).subarray(0, MAX_DECOMPRESSED);
}

/** A raw snappy block: the uncompressed length (varint), then literals and back-references. */
function snappyBlock(input: Uint8Array): Uint8Array | undefined {
  let ip = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (ip >= input.length || shift > 28) return undefined;
    const b = input[ip++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  const out = new Uint8Array(Math.min(length, MAX_DECOMPRESSED));
  let op = 0;
  while (ip < input.length && op < out.length) {
    const tag = input[ip++]!;
    let len: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        len = tag >> 2;
        if (len >= 60) {
          const bytes = len - 59;
          len = 0;
          for (let i = 0; i < bytes; i++) len += (input[ip + i] ?? 0) * 2 ** (8 * i);
          ip += bytes;
        }
        len += 1;
        const n = Math.min(len, input.length - ip, out.length - op);
        out.set(input.subarray(ip, ip + n), op);
        ip += len;
        op += n;
        continue;
      }
      case 1:
        len = ((tag >> 2) & 7) + 4;
        offset = ((tag >> 5) << 8) | (input[ip++] ?? 0);
        break;
      case 2:
        len = (tag >> 2) + 1;
        offset = (input[ip] ?? 0) | ((input[ip + 1] ?? 0) << 8);
        ip += 2;
        break;
      default:
        len = (tag >> 2) + 1;
        offset =
          ((input[ip] ?? 0) |
            ((input[ip + 1] ?? 0) << 8) |
            ((input[ip + 2] ?? 0) << 16) |
            ((input[ip + 3] ?? 0) << 24)) >>>
          0;
        ip += 4;
    }
    if (ip > input.length || offset === 0 || offset > op) break; // cut inside the tag, or not snappy
    op = backReference(out, op, offset, len);
  }
  return out.subarray(0, op);
}

/** An LZ4 frame (Kafka's lz4 codec): header, then blocks of [u32 size, high bit: stored][data] to an end mark. */
function lz4Frame(input: Uint8Array): Uint8Array | undefined {
  if (input.length < 7 || readU32le(input, 0) !== 0x184d2204) return undefined;
  const flags = input[4]!;
  let p = 7 + (flags & 0x08 ? 8 : 0) + (flags & 0x01 ? 4 : 0); // magic, FLG, BD, [size], [dict id], HC
  const out = new Uint8Array(MAX_DECOMPRESSED);
  let op = 0;
  while (p + 4 <= input.length && op < out.length) {
    const word = readU32le(input, p);
    p += 4;
    if (word === 0) break; // end mark
    const size = word & 0x7fffffff;
    const block = input.subarray(p, Math.min(input.length, p + size));
    if (word & 0x80000000) {
      const n = Math.min(block.length, out.length - op);
      out.set(block.subarray(0, n), op);
      op += n;
    } else {
      op = lz4Block(block, out, op);
    }
    p += size + (flags & 0x10 ? 4 : 0); // block checksum
  }
  return op === 0 ? undefined : out.subarray(0, op);
}

/** One LZ4 block decoded into `out` from `op` (earlier output may be referenced: linked blocks). */
function lz4Block(input: Uint8Array, out: Uint8Array, op: number): number {
  let ip = 0;
  const more = (n: number) => {
    for (let b = 255; b === 255 && ip < input.length; ) {
      b = input[ip++]!;
      n += b;
    }
    return n;
  };
  while (ip < input.length && op < out.length) {
    const token = input[ip++]!;
    let literals = token >> 4;
    if (literals === 15) literals = more(literals);
    const n = Math.min(literals, input.length - ip, out.length - op);
    out.set(input.subarray(ip, ip + n), op);
    ip += literals;
    op += n;
    if (ip + 2 > input.length) break; // the last sequence has literals only
    const offset = input[ip]! | (input[ip + 1]! << 8);
    ip += 2;
    let len = token & 15;
    if (len === 15) len = more(len);
    if (offset === 0 || offset > op) break;
    op = backReference(out, op, offset, len + 4);
  }
  return op;
}

/** Copies `len` bytes from `offset` back (overlapping copies repeat a pattern), bounded by `out`. */
function backReference(out: Uint8Array, op: number, offset: number, len: number): number {
  const end = Math.min(out.length, op + len);
  for (let from = op - offset; op < end; ) out[op++] = out[from++]!;
  return op;
}

const readU32le = (b: Uint8Array, p: number) =>
  (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
