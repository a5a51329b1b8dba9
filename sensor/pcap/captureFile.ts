import { gunzipSync } from 'node:zlib';

/**
 * Reads classic pcap (micro- and nanosecond, both byte orders) and pcapng (SHB/IDB/EPB/SPB/OPB), gzip'd or
 * not, into packets. Formats: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-01.html and
 * https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-01.html
 *
 * The whole file is held in memory (captures given to `replay` are files on disk, bounded by
 * MAX_CAPTURE_BYTES); packets are views into it and stay valid while the returned object lives.
 */
export const MAX_CAPTURE_BYTES = 2 * 1024 * 1024 * 1024 - 1;

export interface Packet {
  /** Link-layer type (LINKTYPE_* number). */
  linkType: number;
  /** Capture time, nanoseconds since the epoch. */
  tsNs: bigint;
  /** Captured bytes (possibly shorter than on the wire). */
  data: Uint8Array;
}

export class CaptureFormatError extends Error {}

export function decompressIfGzip(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes, { maxOutputLength: MAX_CAPTURE_BYTES });
    } catch (err) {
      throw new CaptureFormatError(`cannot gunzip capture: ${(err as Error).message}`);
    }
  }
  return bytes;
}

/** Yields every packet of a pcap or pcapng image. Throws CaptureFormatError on a damaged header. */
export function* readCapture(input: Uint8Array): Generator<Packet> {
  const bytes = decompressIfGzip(input);
  if (bytes.length < 4) throw new CaptureFormatError('cannot read capture: file shorter than a header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, false);
  if (magic === 0x0a0d0d0a) yield* readPcapng(bytes, dv);
  else yield* readPcap(bytes, dv, magic);
}

function* readPcap(bytes: Uint8Array, dv: DataView, magic: number): Generator<Packet> {
  let little: boolean;
  let nanos: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) little = false;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) little = true;
  else {
    throw new CaptureFormatError(
      `cannot read capture: not a pcap or pcapng file (magic 0x${magic.toString(16).padStart(8, '0')})`,
    );
  }
  nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  if (bytes.length < 24) throw new CaptureFormatError('cannot read pcap: truncated file header');
  const linkType = dv.getUint32(20, little) & 0x0fffffff;
  let at = 24;
  while (at + 16 <= bytes.length) {
    const sec = dv.getUint32(at, little);
    const frac = dv.getUint32(at + 4, little);
    const incl = dv.getUint32(at + 8, little);
    if (incl > 0x4000000)
      throw new CaptureFormatError(`cannot read pcap: record at byte ${at} claims ${incl} bytes`);
    const start = at + 16;
    if (start + incl > bytes.length) return; // truncated last record, as tcpdump leaves when killed
    const tsNs = BigInt(sec) * 1_000_000_000n + BigInt(nanos ? frac : frac * 1000);
    yield { linkType, tsNs, data: bytes.subarray(start, start + incl) };
    at = start + incl;
  }
}

interface Interface {
  linkType: number;
  /** Nanoseconds per timestamp unit, as a rational number: ts * num / den. */
  num: bigint;
  den: bigint;
}

function* readPcapng(bytes: Uint8Array, dv: DataView): Generator<Packet> {
  let little = true;
  let interfaces: Interface[] = [];
  let at = 0;
  while (at + 12 <= bytes.length) {
    const typeBE = dv.getUint32(at, false);
    if (typeBE === 0x0a0d0d0a) {
      const bom = dv.getUint32(at + 8, true);
      if (bom === 0x1a2b3c4d) little = true;
      else if (bom === 0x4d3c2b1a) little = false;
      else throw new CaptureFormatError(`cannot read pcapng: bad byte-order magic at byte ${at}`);
      interfaces = [];
    }
    const type = dv.getUint32(at, little);
    const len = dv.getUint32(at + 4, little);
    if (len < 12 || len % 4 !== 0 || at + len > bytes.length) {
      if (at + len > bytes.length && len >= 12) return; // truncated final block
      throw new CaptureFormatError(`cannot read pcapng: bad block length ${len} at byte ${at}`);
    }
    const body = at + 8;
    const bodyEnd = at + len - 4;
    if (type === 1) {
      interfaces.push(readInterface(bytes, dv, body, bodyEnd, little));
    } else if (type === 6 || type === 2) {
      // Enhanced Packet Block (6) and the obsolete Packet Block (2) share the layout after the first word.
      const ifIndex = type === 6 ? dv.getUint32(body, little) : dv.getUint16(body, little);
      const iface = interfaces[ifIndex];
      if (iface === undefined)
        throw new CaptureFormatError(`cannot read pcapng: packet names interface ${ifIndex}`);
      const ts = (BigInt(dv.getUint32(body + 4, little)) << 32n) | BigInt(dv.getUint32(body + 8, little));
      const incl = dv.getUint32(body + 12, little);
      const start = body + 20;
      if (start + incl > bodyEnd)
        throw new CaptureFormatError(`cannot read pcapng: packet overruns block at ${at}`);
      yield {
        linkType: iface.linkType,
        tsNs: (ts * iface.num) / iface.den,
        data: bytes.subarray(start, start + incl),
      };
    } else if (type === 3) {
      // Simple Packet Block: no timestamp, interface 0.
      const iface = interfaces[0];
      if (iface !== undefined) {
        const orig = dv.getUint32(body, little);
        const incl = Math.min(orig, bodyEnd - body - 4);
        yield { linkType: iface.linkType, tsNs: 0n, data: bytes.subarray(body + 4, body + 4 + incl) };
      }
    }
    at += len;
  }
}

function readInterface(
  bytes: Uint8Array,
  dv: DataView,
  body: number,
  end: number,
  little: boolean,
): Interface {
  const iface: Interface = { linkType: dv.getUint16(body, little), num: 1000n, den: 1n };
  let at = body + 8;
  while (at + 4 <= end) {
    const code = dv.getUint16(at, little);
    const len = dv.getUint16(at + 2, little);
    if (code === 0) break;
    if (code === 9 && len >= 1) {
      // if_tsresol: bit 7 clear = negative power of 10, set = negative power of 2.
      const v = bytes[at + 4]!;
      const exp = BigInt(v & 0x7f);
      if ((v & 0x80) === 0) {
        if (exp <= 9n) {
          iface.num = 10n ** (9n - exp);
          iface.den = 1n;
        } else {
          iface.num = 1n;
          iface.den = 10n ** (exp - 9n);
        }
      } else {
        iface.num = 1_000_000_000n;
        iface.den = 1n << exp;
      }
    }
    at += 4 + ((len + 3) & ~3);
  }
  return iface;
}
