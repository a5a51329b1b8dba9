import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MAX_ZSTD_WINDOW, zstdExact, zstdFirstBlockEnd, zstdPrefix, zstdWindow } from './zstd.ts';

const plain = Buffer.from(
  JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ i, s: 'x'.repeat(i % 17) }))),
);
/** Frames made by the zstd tool: with the content size in the header, and streamed without it. */
const sized = execFileSync('zstd', ['-c', '-q'], { input: plain });
const streamed = execFileSync('zstd', ['-c', '-q', '--no-content-size'], { input: plain });

describe('zstd for the parsers', () => {
  it('reads the window a header asks for: the content size of a single segment, else the descriptor', () => {
    // Single segment (descriptor bit 5): 1, 2 (+256) or 4 content-size bytes after it.
    const single = (descriptor: number, ...size: number[]) =>
      zstdWindow(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, descriptor, ...size]));
    expect(single(0x20, 200)).toBe(200);
    expect(single(0x60, 0x10, 0x01)).toBe(0x110 + 256);
    expect(single(0xa0, 0, 0, 0x10, 0)).toBe(0x100000);
    const w = zstdWindow(streamed)!;
    expect(w).toBeGreaterThanOrEqual(1024);
    expect(w).toBeLessThanOrEqual(MAX_ZSTD_WINDOW);
    // Descriptor 0x5b: exponent 11, mantissa 3 -> 2^21 + 3/8 of it.
    expect(zstdWindow(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x5b]))).toBe(2 ** 21 * (1 + 3 / 8));
    expect(zstdWindow(Buffer.from([1, 2, 3, 4, 5, 6]))).toBeUndefined();
  });

  it("finds the end of a frame's first block, so a prefix that cannot hold it is not decoded", () => {
    // One block each, then the 4-byte content checksum the zstd tool adds.
    expect(zstdFirstBlockEnd(streamed)).toBe(streamed.length - 4);
    expect(zstdFirstBlockEnd(sized)).toBe(sized.length - 4);
    const big = execFileSync('zstd', ['-c', '-q'], { input: Buffer.alloc(300_000, 7) }); // RLE blocks
    expect(zstdFirstBlockEnd(big)).toBeLessThan(big.length);
    expect(zstdPrefix(big.subarray(0, zstdFirstBlockEnd(big)), 1 << 20)?.length).toBe(128 * 1024);
    expect(zstdPrefix(streamed.subarray(0, streamed.length - 5), 1 << 16)).toBeUndefined();
  });

  it('decodes whole frames exactly, and a prefix of what a cut frame holds', () => {
    expect(Buffer.from(zstdExact(sized, plain.length))).toEqual(plain);
    expect(Buffer.from(zstdExact(streamed, plain.length))).toEqual(plain);
    expect(Buffer.from(zstdPrefix(streamed, 1 << 16)!)).toEqual(plain);
    expect(Buffer.from(zstdPrefix(streamed, 100)!)).toEqual(plain.subarray(0, 100));
    expect(zstdPrefix(streamed.subarray(0, streamed.length >> 1), 1 << 16)).toBeUndefined(); // one block, cut
  });

  it('damaged frames: the prefix decoder never throws, the exact one throws an Error or gives the size', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    let refused = 0;
    for (let k = 0; k < 2000; k++) {
      const f = Buffer.from(streamed);
      for (let m = 0; m < 1 + Math.floor(rnd() * 4); m++)
        f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
      expect(zstdPrefix(f, 4096)?.length ?? 0).toBeLessThanOrEqual(4096);
      try {
        expect(zstdExact(f, plain.length).length).toBe(plain.length);
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });
});
