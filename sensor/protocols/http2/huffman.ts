/**
 * HPACK's static Huffman code (RFC 7541 Appendix B). The code is canonical, so the table is stored as the
 * code length of each symbol (0..255, then EOS = 256) and the codes are rebuilt at load time.
 */
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28,
  28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7,
  8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19,
  13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13,
  28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21,
  22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23,
  22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25,
  25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

export const EOS = 256;

/**
 * Decoding tree as flat arrays: node i has children `child0[i]`, `child1[i]`; a leaf stores `-(symbol+1)`.
 * Built once per process; about 512 nodes.
 */
const child0: number[] = [0];
const child1: number[] = [0];

function build(): void {
  if (CODE_LENGTHS.length !== 257) throw new Error('HPACK Huffman table must have 257 code lengths');
  const symbols = [...CODE_LENGTHS.keys()].sort((a, b) => CODE_LENGTHS[a]! - CODE_LENGTHS[b]! || a - b);
  let code = 0;
  let prevLen = CODE_LENGTHS[symbols[0]!]!;
  for (let i = 0; i < symbols.length; i++) {
    const sym = symbols[i]!;
    const len = CODE_LENGTHS[sym]!;
    if (i > 0) code = (code + 1) * 2 ** (len - prevLen);
    prevLen = len;
    let node = 0;
    for (let bit = len - 1; bit >= 0; bit--) {
      const one = Math.floor(code / 2 ** bit) % 2 === 1;
      const kids = one ? child1 : child0;
      if (bit === 0) {
        kids[node] = -(sym + 1);
        break;
      }
      let next = kids[node]!;
      if (next <= 0) {
        next = child0.length;
        child0.push(0);
        child1.push(0);
        kids[node] = next;
      }
      node = next;
    }
  }
}
build();

/** Huffman code of a symbol (for tests and the fuzzer's encoder): [code, length]. */
export function huffmanCode(sym: number): [number, number] {
  const symbols = [...CODE_LENGTHS.keys()].sort((a, b) => CODE_LENGTHS[a]! - CODE_LENGTHS[b]! || a - b);
  let code = 0;
  let prevLen = CODE_LENGTHS[symbols[0]!]!;
  for (let i = 0; i < symbols.length; i++) {
    const len = CODE_LENGTHS[symbols[i]!]!;
    if (i > 0) code = (code + 1) * 2 ** (len - prevLen);
    prevLen = len;
    if (symbols[i] === sym) return [code, len];
  }
  throw new Error(`no Huffman code for symbol ${sym}`);
}

/**
 * Decodes `buf[start, end)`; undefined when the input is not valid HPACK Huffman (EOS inside, or padding
 * longer than 7 bits or not all ones). Output bounded by `maxLength` characters.
 */
export function huffmanDecode(
  buf: Uint8Array,
  start: number,
  end: number,
  maxLength: number,
): string | undefined {
  let out = '';
  let node = 0;
  let depth = 0;
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const one = (byte >> bit) & 1;
      const next = one === 1 ? child1[node]! : child0[node]!;
      depth++;
      allOnes = allOnes && one === 1;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === EOS) return undefined;
        if (out.length < maxLength) out += String.fromCharCode(sym);
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (next === 0) {
        return undefined;
      } else {
        node = next;
      }
    }
  }
  if (depth > 7 || !allOnes) return undefined;
  return out;
}
