import { describe, expect, it } from 'vitest';
import { HpackDecoder, UNKNOWN_HEADER } from './hpack.ts';
import { huffmanCode, huffmanDecode } from './huffman.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** Encodes bytes with the HPACK Huffman code (test-only encoder built on the table under test). */
function huffmanEncode(bytes: Uint8Array): Uint8Array {
  const bits: number[] = [];
  for (const b of bytes) {
    const [code, len] = huffmanCode(b);
    for (let i = len - 1; i >= 0; i--) bits.push(Math.floor(code / 2 ** i) % 2);
  }
  while (bits.length % 8 !== 0) bits.push(1); // EOS prefix as padding
  const out = new Uint8Array(bits.length / 8);
  for (let i = 0; i < bits.length; i++) out[i >> 3]! |= bits[i]! << (7 - (i & 7));
  return out;
}

describe('HPACK Huffman code', () => {
  it('round-trips every octet', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const decoded = huffmanDecode(huffmanEncode(all), 0, huffmanEncode(all).length, 1000);
    expect(decoded).toBe(String.fromCharCode(...all));
  });

  it('decodes the RFC 7541 C.4.1 example and rejects bad padding', () => {
    const www = hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff');
    expect(huffmanDecode(www, 0, www.length, 100)).toBe('www.example.com');
    expect(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff ff'), 0, 13, 100)).toBeUndefined();
    expect(huffmanDecode(hex('00'), 0, 1, 100)).toBeUndefined(); // '0' + padding of zeros
  });
});

describe('HPACK decoder (RFC 7541 appendix C)', () => {
  it('decodes C.4 requests with Huffman and keeps the dynamic table across blocks', () => {
    const d = new HpackDecoder();
    const b1 = hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff');
    expect(d.decode(b1, 0, b1.length)?.headers).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    expect(d.tableSize).toBe(57);
    const b2 = hex('8286 84be 5886 a8eb 1064 9cbf');
    expect(d.decode(b2, 0, b2.length)?.headers).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    const b3 = hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf');
    expect(d.decode(b3, 0, b3.length)?.headers).toEqual([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
    expect(d.tableSize).toBe(164);
  });

  it('decodes C.3 requests without Huffman', () => {
    const d = new HpackDecoder();
    const b1 = hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d');
    expect(d.decode(b1, 0, b1.length)?.headers[3]).toEqual([':authority', 'www.example.com']);
    const b2 = hex('8286 84be 5808 6e6f 2d63 6163 6865');
    expect(d.decode(b2, 0, b2.length)?.headers[4]).toEqual(['cache-control', 'no-cache']);
  });

  it('reports unknown dynamic entries (capture started mid-connection) and still learns new ones', () => {
    const d = new HpackDecoder();
    // Index 70 was inserted before we started listening; then a new entry is inserted and referenced.
    const block = hex('c6 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf be');
    const out = d.decode(block, 0, block.length);
    expect(out?.unknown).toBe(1);
    expect(out?.headers).toEqual([
      [UNKNOWN_HEADER, UNKNOWN_HEADER],
      ['custom-key', 'custom-value'],
      ['custom-key', 'custom-value'],
    ]);
  });

  it('rejects truncated and malformed blocks without throwing', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('80'), 0, 1)).toBeUndefined(); // index 0
    expect(d.decode(hex('41 8c f1e3'), 0, 4)).toBeUndefined(); // string runs past the block
    expect(d.decode(hex('ff ff ff ff ff'), 0, 5)).toBeUndefined(); // integer never ends
    expect(d.decode(hex('3f e1 1f'), 0, 3)).toEqual({ headers: [], unknown: 0 }); // table size update 4096
  });
});
