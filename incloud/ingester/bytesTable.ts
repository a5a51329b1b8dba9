/**
 * Lookup by byte string without making a JS string: the ingester's wire path finds a series (or a sender)
 * from label bytes that sit in a request body. An identity is a sequence of whole Label messages; its hash is
 * folded label by label (`hashLabel`), so the same labels hash the same whether they arrive as one contiguous
 * range or as several (a sender label in the middle splits them).
 * Called only from the event loop.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
export const HASH_SEED = 0x9747b28c;

/** Folds the bytes of one Label message `buf[start, end)` into `h` (murmur3's 32-bit block mixing, 4 bytes a step). */
export function hashLabel(h: number, buf: Uint8Array, start: number, end: number): number {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    let k = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = end - start; // the tail and the length: "ab"+"c" and "a"+"bc" differ
  for (let s = 8; i < end; i++, s += 8) k ^= buf[i]! << s;
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, C2);
  return h;
}

/** Hash and bytes of an identity given as latin1 text made of whole Label messages (`labelBytes` output). */
export function hashLabels(labels: readonly string[]): { hash: number; bytes: Buffer } {
  const bytes = Buffer.from(labels.join(''), 'latin1');
  let h = HASH_SEED;
  let at = 0;
  for (const l of labels) {
    h = hashLabel(h, bytes, at, at + l.length);
    at += l.length;
  }
  return { hash: h, bytes };
}

/**
 * Values keyed by byte strings, bucketed by their label-wise hash. `runs` lists [start, end) pairs of `buf`
 * whose concatenation is the key.
 */
export class BytesTable<T> {
  private readonly buckets = new Map<number, { bytes: Buffer; value: T }[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  find(hash: number, length: number, buf: Uint8Array, runs: readonly number[]): T | undefined {
    const bucket = this.buckets.get(hash);
    if (bucket === undefined) return undefined;
    for (let b = 0; b < bucket.length; b++) {
      const c = bucket[b]!;
      if (c.bytes.length === length && runsEqual(buf, runs, c.bytes)) return c.value;
    }
    return undefined;
  }

  /** Adds a key that is not present (callers look it up first). */
  add(hash: number, bytes: Buffer, value: T): void {
    const bucket = this.buckets.get(hash);
    if (bucket) bucket.push({ bytes, value });
    else this.buckets.set(hash, [{ bytes, value }]);
    this.count++;
  }

  delete(hash: number, value: T): void {
    const bucket = this.buckets.get(hash);
    if (!bucket) return;
    const i = bucket.findIndex((c) => c.value === value);
    if (i < 0) return;
    this.count--;
    if (bucket.length === 1) this.buckets.delete(hash);
    else bucket.splice(i, 1);
  }

  *entries(): IterableIterator<[Buffer, T, number]> {
    for (const [hash, bucket] of this.buckets) for (const c of bucket) yield [c.bytes, c.value, hash];
  }
}

/** The concatenated `runs` of `buf` equal `key` (whose length the caller checked). */
function runsEqual(buf: Uint8Array, runs: readonly number[], key: Uint8Array): boolean {
  let j = 0;
  for (let r = 0; r < runs.length; r += 2) {
    const end = runs[r + 1]!;
    for (let i = runs[r]!; i < end; i++) if (buf[i] !== key[j++]) return false;
  }
  return true;
}
