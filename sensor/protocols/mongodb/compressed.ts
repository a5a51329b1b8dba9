import { inflateSync } from 'node:zlib';
import { uncompressSync } from 'snappy';
import { zstdExact } from '../zstd.ts';

/**
 * OP_COMPRESSED (opcode 2012, https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/#op_compressed):
 * after the 16-byte header, `originalOpcode` (int32), `uncompressedSize` (int32, the original message
 * without its header), `compressorId` (uint8) and the compressed original body. Compressors: 0 noop,
 * 1 snappy, 2 zlib, 3 zstd (Node 20's `node:zlib` has none: ../zstd.ts, whose window is bounded too).
 * A message that cannot be decoded stays a call named `compressed` with the reason.
 *
 * `decompressMessage` returns the original message (a fresh header with the original opcode and length,
 * then the decompressed body) or a reason it cannot. Runs on the tracker's thread, synchronously: the
 * declared size is checked before anything is inflated and bounded by `MAX_DECOMPRESSED`.
 */
export const MAX_DECOMPRESSED = 16 * 1024 * 1024;

export const COMPRESSORS = ['noop', 'snappy', 'zlib', 'zstd'] as const;

const u32le = (b: Uint8Array, i: number) =>
  (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;

export type Decompressed =
  | { ok: true; message: Uint8Array; compressor: string }
  | { ok: false; compressor: string; reason: string };

/** `buf[offset, offset + len)` is one whole OP_COMPRESSED message. */
export function decompressMessage(buf: Uint8Array, offset: number, len: number): Decompressed {
  const body = offset + 16;
  if (len < 25) return { ok: false, compressor: 'unknown', reason: 'too short' };
  const originalOpcode = u32le(buf, body);
  const size = u32le(buf, body + 4);
  const id = buf[body + 8]!;
  const compressor = COMPRESSORS[id] ?? `id_${id}`;
  if (size > MAX_DECOMPRESSED) return { ok: false, compressor, reason: `declares ${size} bytes` };
  const packed = buf.subarray(body + 9, offset + len);
  // snappy allocates what its own length preamble says: it must agree with the checked header first.
  if (id === 1 && snappyLength(packed) !== size)
    return { ok: false, compressor, reason: 'snappy length differs from the header' };
  let inner: Uint8Array;
  try {
    if (id === 0) inner = packed;
    else if (id === 1)
      inner = uncompressSync(Buffer.from(packed.buffer, packed.byteOffset, packed.length), {
        asBuffer: true,
      }) as Buffer;
    else if (id === 2) inner = inflateSync(packed, { maxOutputLength: size });
    else if (id === 3) inner = zstdExact(packed, size);
    else return { ok: false, compressor, reason: 'compressor not supported' };
  } catch (e) {
    return { ok: false, compressor, reason: (e as Error).message };
  }
  if (inner.length !== size)
    return { ok: false, compressor, reason: `${inner.length} bytes, header says ${size}` };
  const message = new Uint8Array(16 + size);
  message.set(buf.subarray(offset, offset + 12));
  const total = 16 + size;
  message[0] = total & 255;
  message[1] = (total >> 8) & 255;
  message[2] = (total >> 16) & 255;
  message[3] = (total >>> 24) & 255;
  message[12] = originalOpcode & 255;
  message[13] = (originalOpcode >> 8) & 255;
  message[14] = (originalOpcode >> 16) & 255;
  message[15] = (originalOpcode >>> 24) & 255;
  message.set(inner, 16);
  return { ok: true, message, compressor };
}

/** The uncompressed length a raw snappy block starts with (a little-endian base-128 varint), or -1. */
function snappyLength(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < 5 && i < b.length; i++) {
    n += (b[i]! & 0x7f) * 2 ** (7 * i);
    if ((b[i]! & 0x80) === 0) return n;
  }
  return -1;
}
