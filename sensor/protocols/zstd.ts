import { Decompress, decompress } from 'fzstd';

/**
 * zstd for the parsers (Kafka record batches, MongoDB OP_COMPRESSED): Node 20's zlib has none, so frames go
 * through fzstd (pure JavaScript, MIT). A frame header may claim a window of up to 2 GiB, which fzstd would
 * allocate: both decoders here bound what they allocate themselves, and callers refuse frames whose window
 * (read by zstdWindow) is over MAX_ZSTD_WINDOW.
 */

/** Largest window a frame may ask for to be decoded (producers stream at windows of 2-4 MiB). */
export const MAX_ZSTD_WINDOW = 8 << 20;

const MAGIC = 0xfd2fb528 | 0;

/** The window a frame's header asks for, in bytes (RFC 8878, 3.1.1.1); undefined: not a zstd frame. */
export function zstdWindow(input: Uint8Array): number | undefined {
  if (input.length < 6 || (input[0]! | (input[1]! << 8) | (input[2]! << 16) | (input[3]! << 24)) !== MAGIC)
    return undefined;
  const descriptor = input[4]!;
  if (((descriptor >> 5) & 1) === 0) {
    const w = input[5]!;
    const base = 2 ** (10 + (w >> 3));
    return base + (base / 8) * (w & 7);
  }
  // Single segment: no window descriptor, the window is the content size.
  const at = 5 + [0, 1, 2, 4][descriptor & 3]!;
  const bytes = [1, 2, 4, 8][descriptor >> 6]!;
  if (input.length < at + bytes) return undefined;
  let size = 0;
  for (let i = bytes - 1; i >= 0; i--) size = size * 256 + input[at + i]!;
  return bytes === 2 ? size + 256 : size;
}

/**
 * What a frame decodes to, as far as its whole blocks go, in at most `max` bytes; undefined when nothing.
 * fzstd writes into our buffer (allocating no window) and reports the buffer, not what it decoded, and a
 * frame cut by a capture throws after the blocks before the cut are in it: either way the decoded bytes
 * are followed by the buffer's zeros, which are cut (a last byte that is zero goes with them; callers read
 * a prefix and stop quietly at its end).
 */
export function zstdPrefix(input: Uint8Array, max: number): Uint8Array | undefined {
  const out = new Uint8Array(max);
  try {
    decompress(input, out);
  } catch {
    // cut or broken: what was decoded before is in `out`
  }
  let end = out.length;
  while (end > 0 && out[end - 1] === 0) end--;
  return end === 0 ? undefined : out.subarray(0, end);
}

/**
 * A whole frame that must decode to exactly `size` bytes (a length the caller checked against its bound).
 * Streamed block by block, so a frame that expands past `size` stops at the first block over it; the window
 * is allocated, so the frame's must be at most MAX_ZSTD_WINDOW. Throws with the reason.
 */
export function zstdExact(input: Uint8Array, size: number): Uint8Array {
  const window = zstdWindow(input);
  if (window === undefined) throw new Error('not a zstd frame');
  if (window > MAX_ZSTD_WINDOW) throw new Error(`zstd window of ${window} bytes`);
  const out = new Uint8Array(size);
  let n = 0;
  const stream = new Decompress((chunk) => {
    if (n + chunk.length > size) throw new Error(`more than the ${size} bytes the header says`);
    out.set(chunk, n);
    n += chunk.length;
  });
  stream.push(input, true);
  if (n !== size) throw new Error(`${n} bytes, header says ${size}`);
  return out;
}
