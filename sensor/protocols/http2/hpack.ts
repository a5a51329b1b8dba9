import { latin1String } from '../tracker/bytes.ts';
import { huffmanDecode } from './huffman.ts';

/**
 * HPACK header block decoder (RFC 7541) with one dynamic table per direction of a connection.
 *
 * Built for a passive observer: a capture that starts mid-connection misses earlier insertions, so an index
 * into entries we never saw yields UNKNOWN_HEADER instead of failing the block; later insertions are still
 * tracked, so the table heals as the connection goes on.
 */
export const UNKNOWN_HEADER = '<unknown>';
/** Header strings longer than this are cut (memory bound per connection: table size + this per block). */
const MAX_STRING = 8192;
/** Upper bound on a table size a peer may announce; larger updates are clamped. */
const MAX_TABLE_SIZE = 64 * 1024;

const STATIC: ReadonlyArray<readonly [string, string]> = [
  ['', ''],
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC.length - 1; // 61

export type HeaderList = Array<[string, string]>;

export interface DecodeOutcome {
  headers: HeaderList;
  /** Fields that referenced dynamic entries this observer never saw. */
  unknown: number;
}

export class HpackDecoder {
  /** Newest first. Entries we could not know (mid-connection) are never inserted. */
  private entries: Array<[string, string]> = [];
  private size = 0;
  private maxSize = 4096;

  get tableSize(): number {
    return this.size;
  }

  /** Decodes one complete header block; undefined when it is malformed (the table may then be out of sync). */
  decode(buf: Uint8Array, start: number, end: number): DecodeOutcome | undefined {
    const headers: HeaderList = [];
    let unknown = 0;
    let at = start;
    while (at < end) {
      const b = buf[at]!;
      if (b & 0x80) {
        // Indexed field.
        const idx = readInt(buf, at, end, 7);
        if (idx === undefined || idx.value === 0) return undefined;
        at = idx.next;
        const entry = this.lookup(idx.value);
        if (entry === undefined) {
          unknown++;
          headers.push([UNKNOWN_HEADER, UNKNOWN_HEADER]);
        } else headers.push([entry[0], entry[1]]);
        continue;
      }
      if ((b & 0xe0) === 0x20) {
        // Dynamic table size update.
        const sz = readInt(buf, at, end, 5);
        if (sz === undefined) return undefined;
        at = sz.next;
        this.maxSize = Math.min(sz.value, MAX_TABLE_SIZE);
        this.evict(0);
        continue;
      }
      // Literal: with incremental indexing (01), without indexing (0000), never indexed (0001).
      const indexing = (b & 0xc0) === 0x40;
      const idx = readInt(buf, at, end, indexing ? 6 : 4);
      if (idx === undefined) return undefined;
      at = idx.next;
      let name: string;
      let nameKnown = true;
      if (idx.value === 0) {
        const s = readString(buf, at, end);
        if (s === undefined) return undefined;
        name = s.value;
        at = s.next;
      } else {
        const entry = this.lookup(idx.value);
        nameKnown = entry !== undefined;
        name = entry?.[0] ?? UNKNOWN_HEADER;
      }
      const v = readString(buf, at, end);
      if (v === undefined) return undefined;
      at = v.next;
      if (!nameKnown) unknown++;
      headers.push([name, v.value]);
      if (indexing) {
        if (nameKnown) this.insert(name, v.value);
        else this.insertUnknown(v.value);
      }
    }
    return { headers, unknown };
  }

  private lookup(index: number): readonly [string, string] | undefined {
    if (index <= STATIC_COUNT) return STATIC[index];
    const e = this.entries[index - STATIC_COUNT - 1];
    return e !== undefined && e[0] !== UNKNOWN_HEADER ? e : undefined;
  }

  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + 32;
    this.evict(entrySize);
    if (entrySize > this.maxSize) return; // RFC 7541 4.4: an entry larger than the table empties it
    this.entries.unshift([name, value]);
    this.size += entrySize;
  }

  /** An insertion whose name we cannot know still takes a slot, so later indexes stay right. */
  private insertUnknown(value: string): void {
    const entrySize = UNKNOWN_HEADER.length + value.length + 32;
    this.evict(entrySize);
    if (entrySize > this.maxSize) return;
    this.entries.unshift([UNKNOWN_HEADER, value]);
    this.size += entrySize;
  }

  private evict(incoming: number): void {
    while (this.entries.length > 0 && this.size + incoming > this.maxSize) {
      const e = this.entries.pop()!;
      this.size -= e[0].length + e[1].length + 32;
    }
  }
}

interface IntRead {
  value: number;
  next: number;
}

/** RFC 7541 5.1 prefixed integer; undefined when truncated or beyond 2^28. */
function readInt(buf: Uint8Array, at: number, end: number, prefixBits: number): IntRead | undefined {
  if (at >= end) return undefined;
  const mask = (1 << prefixBits) - 1;
  let value = buf[at]! & mask;
  let p = at + 1;
  if (value < mask) return { value, next: p };
  let shift = 0;
  for (;;) {
    if (p >= end || shift > 21) return undefined;
    const b = buf[p++]!;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return { value, next: p };
  }
}

interface StringRead {
  value: string;
  next: number;
}

function readString(buf: Uint8Array, at: number, end: number): StringRead | undefined {
  if (at >= end) return undefined;
  const huffman = (buf[at]! & 0x80) !== 0;
  const len = readInt(buf, at, end, 7);
  if (len === undefined || len.next + len.value > end) return undefined;
  const s = len.next;
  const e = s + len.value;
  const value = huffman
    ? huffmanDecode(buf, s, e, MAX_STRING)
    : latin1String(buf, s, Math.min(e, s + MAX_STRING));
  if (value === undefined) return undefined;
  return { value, next: e };
}
