import { AmqpReader, u32, utf8 } from './reader.ts';
import type { AmqpProperties } from './types.ts';

/**
 * The content header of the basic class (AMQP 0-9-1 section 4.2.6.1, RabbitMQ's field-table errata
 * https://www.rabbitmq.com/amqp-0-9-1-errata.html): class-id, weight, body size, property flags, then the
 * properties the flags announce, in order. Only what a call reports is kept: content type, the `headers`
 * table (where instrumented producers put `traceparent`), correlation id and message id; the properties
 * after message-id are not read at all.
 *
 * Everything is bounded by `end` (the frame's payload end): a table announcing more bytes than the frame
 * holds, or bytes that make no sense (an unknown field type, as in a zero-filled hole), stop decoding and
 * keep what was read before. Nothing here throws or loops without progress.
 */
export const MAX_HEADERS = 32;
export const MAX_HEADER_NAME = 128;
export const MAX_HEADER_VALUE = 256;
/** More flag words than the basic class could use (it has 14 properties): malformed. */
const MAX_FLAG_WORDS = 4;

/**
 * Bytes a field value takes after its type octet, by type: fixed sizes, or -1 for a value behind a 32-bit
 * length. A type not listed cannot be skipped, so the table ends there.
 */
const VALUE_SIZE: Record<string, number> = {
  t: 1, b: 1, B: 1, s: 2, u: 2, I: 4, i: 4, l: 8, L: 8, f: 4, d: 8, D: 5, T: 8, V: 0,
  S: -1, x: -1, A: -1, F: -1,
}; // biome-ignore format: a table

/**
 * Reads the basic-class properties of a content header whose property flags start at `p`.
 * Must not keep `b`: every value is decoded into a new string.
 */
export function readBasicProperties(b: Uint8Array, p: number, end: number): AmqpProperties {
  const props: AmqpProperties = {};
  const r = new AmqpReader(b, p, end);
  let flags = 0;
  for (let words = 0; ; words++) {
    const word = words < MAX_FLAG_WORDS ? r.short() : undefined;
    if (word === undefined) return props;
    if (words === 0) flags = word;
    if ((word & 1) === 0) break; // no continuation: the basic class only uses the first word
  }
  // Bit 15 first: content-type, content-encoding, headers, delivery-mode, priority, correlation-id,
  // reply-to, expiration, message-id. A property that does not fit ends the decoding.
  const has = (bit: number) => (flags & (1 << bit)) !== 0;
  if (has(15)) {
    const type = r.shortstr();
    if (type === undefined) return props;
    if (type) props.contentType = type;
  }
  if (has(14) && r.shortstr() === undefined) return props;
  if (has(13)) {
    if (!r.ok(4)) return props;
    const start = r.p + 4;
    const tableEnd = start + u32(b, r.p);
    props.headers = readHeaderTable(b, start, Math.min(end, tableEnd));
    r.p = tableEnd; // past `end` when the table runs past the frame: nothing more is read
  }
  if (has(12)) r.p++; // delivery-mode
  if (has(11)) r.p++; // priority
  if (has(10)) {
    const id = r.shortstr();
    if (id === undefined) return props;
    if (id) props.correlationId = id;
  }
  if (has(9) && r.shortstr() === undefined) return props; // reply-to
  if (has(8) && r.shortstr() === undefined) return props; // expiration
  const id = has(7) ? r.shortstr() : undefined;
  if (id) props.messageId = id;
  return props;
}

/**
 * A field table's top-level values that are text, numbers or booleans, as strings (at most
 * `MAX_HEADERS`, names and values cut). Nested tables, arrays, byte arrays, decimals and voids are skipped by
 * their size. Stops at the first entry that does not fit before `end` or has an unknown type.
 */
export function readHeaderTable(b: Uint8Array, p: number, end: number): Record<string, string> {
  const out: Record<string, string> = {};
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let kept = 0;
  while (p < end) {
    const nameLen = b[p]!;
    const typeAt = p + 1 + nameLen;
    if (typeAt >= end) break;
    const type = String.fromCharCode(b[typeAt]!); // one-character strings are interned: no allocation
    const fixed = VALUE_SIZE[type];
    if (fixed === undefined) break;
    const v = typeAt + 1;
    let next: number;
    if (fixed >= 0) {
      next = v + fixed;
    } else {
      if (v + 4 > end) break;
      next = v + 4 + u32(b, v);
    }
    if (next > end) break;
    if (kept < MAX_HEADERS) {
      const value = fieldText(b, view, type, v, next);
      const name =
        value === undefined ? '' : utf8.decode(b.subarray(p + 1, typeAt)).slice(0, MAX_HEADER_NAME);
      // `__proto__` would not become an own property of a plain object.
      if (value !== undefined && name !== '__proto__') {
        if (!Object.hasOwn(out, name)) kept++;
        out[name] = value;
      }
    }
    p = next;
  }
  return out;
}

/** A value as text, or undefined for the kinds not kept. */
function fieldText(b: Uint8Array, view: DataView, type: string, v: number, next: number): string | undefined {
  switch (type) {
    case 'S':
      return utf8
        .decode(b.subarray(v + 4, Math.min(next, v + 4 + MAX_HEADER_VALUE)))
        .slice(0, MAX_HEADER_VALUE);
    case 't':
      return b[v] !== 0 ? 'true' : 'false';
    case 'b':
      return String(view.getInt8(v));
    case 'B':
      return String(b[v]);
    case 's':
      return String(view.getInt16(v));
    case 'u':
      return String(view.getUint16(v));
    case 'I':
      return String(view.getInt32(v));
    case 'i':
      return String(view.getUint32(v));
    case 'l':
      return String(view.getBigInt64(v));
    case 'L':
    case 'T':
      return String(view.getBigUint64(v));
    case 'f':
      return String(view.getFloat32(v));
    case 'd':
      return String(view.getFloat64(v));
    default:
      return undefined;
  }
}
