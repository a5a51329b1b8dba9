import { indexOfCrlf } from '../tracker/bytes.ts';
import { BodyMode, type HttpDirectionState } from './types.ts';

/** A chunk-size line longer than this is not chunked encoding (RFC 9112 allows extensions, not essays). */
const MAX_CHUNK_LINE = 1024;

export interface BodySkip {
  /** New offset after the skipped bytes. */
  offset: number;
  /** The body ended (state reset to `None`). */
  done: boolean;
  invalid: boolean;
}

/** The one result object, reused by every call (read at once by the caller; event-loop thread only). */
const SKIP: BodySkip = { offset: 0, done: false, invalid: false };

function skipped(offset: number, done: boolean, invalid: boolean): BodySkip {
  SKIP.offset = offset;
  SKIP.done = done;
  SKIP.invalid = invalid;
  return SKIP;
}

/**
 * Skips body bytes in `buf[offset, end)` according to `st`, updating it so the rest of a body that spans
 * many reads is skipped without buffering it. Returns a shared object, valid until the next call.
 */
export function skipBody(buf: Uint8Array, offset: number, end: number, st: HttpDirectionState): BodySkip {
  if (st.body === BodyMode.UntilClose) return skipped(end, false, false);
  if (st.body === BodyMode.Length) {
    const take = Math.min(st.remaining, end - offset);
    st.remaining -= take;
    if (st.remaining === 0) st.body = BodyMode.None;
    return skipped(offset + take, st.remaining === 0, false);
  }
  if (st.body === BodyMode.Chunked) return skipChunked(buf, offset, end, st);
  return skipped(offset, true, false);
}

function skipChunked(buf: Uint8Array, offset: number, end: number, st: HttpDirectionState): BodySkip {
  let at = offset;
  while (at < end) {
    if (st.chunkPhase !== 1 && buf[at] === 0) {
      // NUL never occurs in chunk framing: these are the eBPF source's stand-in for bytes the kernel moved
      // but did not copy (a truncated write). Skip the run and expect a size line where real bytes resume
      // (the next write), so a long chunked body keeps its byte count across truncated writes.
      while (at < end && buf[at] === 0) at++;
      st.chunkPhase = 0;
      continue;
    }
    if (st.chunkPhase === 1) {
      const take = Math.min(st.remaining, end - at);
      at += take;
      st.remaining -= take;
      if (st.remaining > 0) break;
      st.chunkPhase = 2;
    } else if (st.chunkPhase === 2) {
      if (end - at < 2) break;
      if (buf[at] !== 13 || buf[at + 1] !== 10) return invalid(st, at);
      at += 2;
      st.chunkPhase = 0;
    } else {
      const eol = indexOfCrlf(buf, at, Math.min(end, at + MAX_CHUNK_LINE));
      if (eol < 0) {
        if (end - at >= MAX_CHUNK_LINE) return invalid(st, at);
        break;
      }
      if (st.chunkPhase === 3) {
        // Trailer section: header lines, then an empty line ends the body.
        const empty = eol === at;
        at = eol + 2;
        if (empty) {
          st.body = BodyMode.None;
          st.chunkPhase = 0;
          return skipped(at, true, false);
        }
        continue;
      }
      const size = parseChunkSize(buf, at, eol);
      if (size < 0) return invalid(st, at);
      at = eol + 2;
      if (size === 0) st.chunkPhase = 3;
      else {
        st.remaining = size;
        st.chunkPhase = 1;
      }
    }
  }
  return skipped(at, false, false);
}

function invalid(st: HttpDirectionState, at: number): BodySkip {
  st.body = BodyMode.None;
  st.chunkPhase = 0;
  st.remaining = 0;
  return skipped(at, true, true);
}

/** Hex chunk size up to `;` (extensions) or the line end; -1 when malformed or absurd (> 2^40). */
function parseChunkSize(buf: Uint8Array, start: number, end: number): number {
  let n = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else if (c === 59 || c === 32 || c === 9) break;
    else return -1;
    n = n * 16 + d;
    if (++digits > 10) return -1;
  }
  return digits === 0 ? -1 : n;
}
