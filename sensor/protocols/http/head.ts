import { equalsLowerAscii, findByte, parseDecimal } from '../tracker/bytes.ts';
import { MAX_HEAD_BYTES } from './types.ts';

/** True when CRLFCRLF occurs at or after `from`. */
export function hasHeadEnd(buf: Uint8Array, from: number): boolean {
  let at = from;
  for (;;) {
    const lf = findByte(buf, 10, at);
    if (lf < 0) return false;
    if (lf >= 3 && buf[lf - 1] === 13 && buf[lf - 2] === 10 && buf[lf - 3] === 13 && lf - 3 >= from)
      return true;
    at = lf + 1;
  }
}

export interface HeadScan {
  /** Index of the CR ending the start line. */
  lineEnd: number;
  /** Index of the CRLFCRLF that ends the head. */
  headEnd: number;
  contentLength: number;
  chunked: boolean;
  upgrade: boolean;
}

/** The one scan result, reused by every call (read at once by `parseHttp`; event-loop thread only). */
const scan: HeadScan = { lineEnd: 0, headEnd: 0, contentLength: -1, chunked: false, upgrade: false };

/**
 * One pass over the head, line by line with the engine's native byte search (`indexOf`, one call per line):
 * finds the start line, the end of the head, and the headers that decide the body (Content-Length,
 * Transfer-Encoding, Upgrade). A header name is only compared where the colon would end one of those three
 * names, so other lines cost their line-feed search and nothing else (a colon search per line was a third
 * of the parse cost); a line must still start with a token character. `buf` ends where the data ends.
 * Returns the shared `scan` object, valid until the next call.
 */
export function scanHead(buf: Uint8Array, offset: number, end: number): HeadScan | 'more' | 'invalid' {
  const limit = Math.min(end, offset + MAX_HEAD_BYTES);
  let eol = findByte(buf, 10, offset);
  if (eol < 0 || eol >= limit) return 'more';
  if (buf[eol - 1] !== 13) return 'invalid';
  const h = scan;
  h.lineEnd = eol - 1;
  h.headEnd = -1;
  h.contentLength = -1;
  h.chunked = false;
  h.upgrade = false;
  let at = eol + 1;
  for (;;) {
    eol = findByte(buf, 10, at);
    if (eol < 0 || eol >= limit) return 'more';
    const lineEnd = eol - 1;
    if (buf[lineEnd] !== 13) return 'invalid';
    if (lineEnd === at) {
      h.headEnd = at - 2;
      return h;
    }
    const raw = buf[at]!;
    if (raw === 32 || raw === 9) {
      at = eol + 1; // obsolete line folding continues the previous value
      continue;
    }
    // Control bytes, non-ASCII and the colon cannot start a field name.
    if (raw < 0x21 || raw > 0x7e || raw === 58) return 'invalid';
    const first = raw | 0x20;
    let nameLen = 0;
    if (first === 99 /* c */ && buf[at + 14] === 58) nameLen = 14;
    else if (first === 116 /* t */ && buf[at + 17] === 58) nameLen = 17;
    else if (first === 117 /* u */ && buf[at + 7] === 58) nameLen = 7;
    if (nameLen !== 0 && at + nameLen < lineEnd) {
      const colon = at + nameLen;
      let vs = colon + 1;
      while (vs < lineEnd && (buf[vs] === 32 || buf[vs] === 9)) vs++;
      let ve = lineEnd;
      while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
      if (nameLen === 14 && equalsLowerAscii(buf, at, nameLen, 'content-length')) {
        h.contentLength = parseDecimal(buf, vs, ve);
        if (h.contentLength < 0) return 'invalid';
      } else if (nameLen === 17 && equalsLowerAscii(buf, at, nameLen, 'transfer-encoding')) {
        h.chunked = ve - vs >= 7 && equalsLowerAscii(buf, ve - 7, 7, 'chunked');
      } else if (nameLen === 7 && equalsLowerAscii(buf, at, nameLen, 'upgrade')) {
        h.upgrade = true;
      }
    }
    at = eol + 1;
  }
}
