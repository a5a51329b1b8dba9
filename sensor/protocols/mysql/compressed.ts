import { inflateSync } from 'node:zlib';
import type { MessageType, ParseResult } from '../contract.ts';
import type { MyFrame, MyState } from './types.ts';

/**
 * The compressed protocol (CLIENT_COMPRESS, https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_compression.html):
 * once both sides announced it and authentication succeeded, every packet travels inside compressed
 * packets: a 7-byte header (3-byte compressed length, sequence id, 3-byte uncompressed length; 0 = sent
 * as is) and a zlib stream holding one or more ordinary packets, which may also span compressed packets.
 * The ordinary packets are gathered per direction and parsed as usual. Frame sizes stay those of the
 * ordinary packets (bytes before compression). Called on the tracker's thread; bounded by
 * `MAX_PLAIN_BUFFER` per direction and by each header's declared length.
 */
export const CLIENT_COMPRESS = 0x20;
const MAX_PLAIN_BUFFER = 16 * 1024 * 1024;

const u24le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
const EMPTY = new Uint8Array(0);

export function compressionActive(state: MyState): boolean {
  if (state.compressedFraming) return true;
  return (
    !state.inLogin &&
    state.clientCapabilities !== 0 &&
    (state.clientCapabilities & state.serverCapabilities & CLIENT_COMPRESS) !== 0
  );
}

const ZLIB_LEVELS = new Set([0x01, 0x5e, 0x9c, 0xda]);

/**
 * A capture that starts after the handshake cannot tell whether compression was negotiated: the framing
 * itself tells. A compressed packet holding a zlib stream has its uncompressed length at 4..6 and the zlib
 * header (0x78, a level byte) at 7; a stored one (uncompressed length 0) holds exactly one ordinary packet
 * whose own length is the compressed length minus its 4-byte header. As ordinary packets both would be
 * COM_SLEEP (payload starting with 0), which clients never send, or an answer starting 0x78 0x9c.
 */
export function looksCompressed(buf: Uint8Array, offset: number): boolean {
  if (buf.length - offset < 11) return false;
  const clen = u24le(buf, offset);
  const ulen = u24le(buf, offset + 4);
  if (ulen === 0) return clen >= 5 && u24le(buf, offset + 7) + 4 === clen;
  return buf[offset + 7] === 0x78 && ZLIB_LEVELS.has(buf[offset + 8]!) && ulen >= clen - 16;
}

type PlainParser = (
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
  state: MyState,
) => ParseResult<MyFrame>;

export function parseCompressed(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
  state: MyState,
  parsePlain: PlainParser,
): ParseResult<MyFrame> {
  const avail = buf.length - offset;
  if (avail < 7) return { state: 'needs-more-data', consumed: 0 };
  const clen = u24le(buf, offset);
  const ulen = u24le(buf, offset + 4);
  if (avail < 7 + clen) return { state: 'needs-more-data', consumed: 0 };
  const packed = buf.subarray(offset + 7, offset + 7 + clen);
  let plain: Uint8Array;
  try {
    plain = ulen === 0 ? packed : inflateSync(packed, { maxOutputLength: ulen });
  } catch {
    return { state: 'invalid', consumed: 0 };
  }
  if (ulen !== 0 && plain.length !== ulen) return { state: 'invalid', consumed: 0 };
  const held = state.plain[type];
  let data: Uint8Array;
  if (held.length === 0) data = plain;
  else {
    data = new Uint8Array(held.length + plain.length);
    data.set(held);
    data.set(plain, held.length);
  }
  const frames: MyFrame[] = [];
  let at = 0;
  while (at < data.length) {
    const r = parsePlain(type, data, at, tsNs, state);
    if (r.state !== 'success' || r.consumed <= 0) {
      // needs-more-data: the rest comes in the next compressed packet; anything else cannot be followed.
      if (r.state !== 'needs-more-data') at = data.length;
      break;
    }
    if (r.frames !== undefined) frames.push(...r.frames);
    at += r.consumed;
  }
  const rest = data.length - at;
  state.plain[type] = rest === 0 || rest > MAX_PLAIN_BUFFER ? EMPTY : data.slice(at);
  return { state: 'success', consumed: 7 + clen, frames };
}
