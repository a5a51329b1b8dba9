import { Decompress } from 'fzstd';

/**
 * zstd for the parsers (Kafka record batches, MongoDB OP_COMPRESSED): Node 20's zlib has none, so frames go
 * through fzstd (pure JavaScript, MIT), streamed block by block. A frame header may claim a window of up to
 * 2 GiB, which fzstd would allocate: frames asking for more than MAX_ZSTD_WINDOW are refused first.
 * (fzstd's one-shot decoder into a caller's buffer allocates no window, but it also writes scratch bytes
 * past what it decoded, so what it decoded cannot be told apart: not used.)
 */

/** Largest window a frame may ask for to be decoded (producers stream at windows of 2-4 MiB). */
export const MAX_ZSTD_WINDOW = 8 << 20;

const MAGIC = 0xfd2fb528 | 0;

/**
 * A frame header (RFC 8878, 3.1.1.1): the window it asks for, in bytes, and where the header ends;
 * undefined when `input` does not start with a whole zstd frame header.
 */
function frameHeader(input: Uint8Array): { window: number; end: number } | undefined {
  if (input.length < 6 || (input[0]! | (input[1]! << 8) | (input[2]! << 16) | (input[3]! << 24)) !== MAGIC)
    return undefined;
  const descriptor = input[4]!;
  const single = ((descriptor >> 5) & 1) === 1;
  const at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]!; // window descriptor, dictionary id
  const bytes = descriptor >> 6 === 0 ? (single ? 1 : 0) : 1 << (descriptor >> 6); // content size
  if (input.length < at + bytes) return undefined;
  if (!single) {
    const w = input[5]!;
    const base = 2 ** (10 + (w >> 3));
    return { window: base + (base / 8) * (w & 7), end: at + bytes };
  }
  // Single segment: no window descriptor, the window is the content size.
  let size = 0;
  for (let i = bytes - 1; i >= 0; i--) size = size * 256 + input[at + i]!;
  return { window: bytes === 2 ? size + 256 : size, end: at + bytes };
}

/** The window a frame's header asks for, in bytes; undefined: not a zstd frame. */
export function zstdWindow(input: Uint8Array): number | undefined {
  return frameHeader(input)?.window;
}

/**
 * Where a frame's first block ends (RFC 8878, 3.1.1.2), or undefined when the header cannot be read. zstd
 * decodes whole blocks only: a prefix shorter than this yields nothing, and is not worth a window.
 */
export function zstdFirstBlockEnd(input: Uint8Array): number | undefined {
  const header = frameHeader(input)?.end;
  if (header === undefined || input.length < header + 3) return undefined;
  const b = input[header]! | (input[header + 1]! << 8) | (input[header + 2]! << 16);
  const type = (b >> 1) & 3;
  return header + 3 + (type === 1 ? 1 : b >>> 3); // RLE: one byte repeated
}

/**
 * Streams `input` through fzstd, handing each decoded block to `take` (a copy: fzstd reuses its window).
 * Refuses frames whose window is over MAX_ZSTD_WINDOW before anything is allocated: fzstd allocates the
 * window (or the content size of a single-segment frame). Throws with the reason.
 */
function stream(input: Uint8Array, take: (block: Uint8Array) => void): void {
  const window = zstdWindow(input);
  if (window === undefined) throw new Error('not a zstd frame');
  if (window > MAX_ZSTD_WINDOW) throw new Error(`zstd window of ${window} bytes`);
  new Decompress((block) => take(block.slice())).push(input, true);
}

/** Thrown by a taker to stop a stream early. */
const ENOUGH = new Error('enough');

/**
 * What a frame decodes to, as far as its whole blocks go, in at most `max` bytes; undefined when nothing
 * (not a frame, a window past the bound, or cut inside its first block: zstd decodes whole blocks only).
 */
export function zstdPrefix(input: Uint8Array, max: number): Uint8Array | undefined {
  const first = zstdFirstBlockEnd(input);
  if (first === undefined || first > input.length) return undefined; // cut inside its first block
  const blocks: Uint8Array[] = [];
  let n = 0;
  try {
    stream(input, (block) => {
      blocks.push(block.subarray(0, max - n));
      n = Math.min(max, n + block.length);
      if (n === max) throw ENOUGH;
    });
  } catch {
    // cut, broken, refused or enough: what was decoded before stays
  }
  return n === 0 ? undefined : Buffer.concat(blocks, n);
}

/**
 * A whole frame that must decode to exactly `size` bytes (a length the caller checked against its bound).
 * A frame that expands past `size` stops at the first block over it. Throws with the reason.
 */
export function zstdExact(input: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let n = 0;
  stream(input, (block) => {
    if (n + block.length > size) throw new Error(`more than the ${size} bytes the header says`);
    out.set(block, n);
    n += block.length;
  });
  if (n !== size) throw new Error(`${n} bytes, header says ${size}`);
  return out;
}
