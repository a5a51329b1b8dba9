/**
 * Encoding and decoding of tunnel messages (see messages.ts for the protocol). Runtime-neutral: used by the
 * portal (Node, `ws`) and by the Durable Object (workerd, hibernation API).
 *
 * Binary chunk frame, all integers big-endian:
 *   0      u8   FRAME_CHUNK (0x01)
 *   1      u8   PROTOCOL_VERSION
 *   2..5   u32  seq
 *   6      u8   id length N (1..64)
 *   7..    N    id, ASCII
 *   7+N..       data (0..MAX_CHUNK_BYTES)
 */
import {
  type ChunkMessage,
  type ControlMessage,
  controlMessage,
  MAX_CHUNK_BYTES,
  MAX_CONTROL_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  REQUEST_ID,
  type TunnelMessage,
} from './messages.ts';

export const FRAME_CHUNK = 0x01;
const HEADER_FIXED = 7;

/** A message that does not follow the protocol. `reason` is short and safe to log or send back. */
export class TunnelDecodeError extends Error {
  constructor(readonly reason: string) {
    super(`cannot decode tunnel message: ${reason}`);
    this.name = 'TunnelDecodeError';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** A control message as the text of one WebSocket frame; validates first, so a bug fails at the sender. */
export function encodeControl(msg: ControlMessage): string {
  const checked = controlMessage.safeParse(msg);
  if (!checked.success)
    throw new Error(`cannot encode tunnel message ${msg.type}: ${formatIssues(checked.error)}`);
  const text = JSON.stringify(checked.data);
  const bytes = encoder.encode(text).byteLength;
  if (bytes > MAX_CONTROL_MESSAGE_BYTES)
    throw new Error(`cannot encode tunnel message ${msg.type}: ${bytes} bytes is over the limit`);
  return text;
}

/** A chunk as one binary frame. Copies `data` into the frame, so the caller keeps ownership of it. */
export function encodeChunk(id: string, seq: number, data: Uint8Array): Uint8Array {
  if (!REQUEST_ID.test(id)) throw new Error(`cannot encode chunk: bad request id ${JSON.stringify(id)}`);
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff)
    throw new Error(`cannot encode chunk: seq ${seq} out of range`);
  if (data.byteLength > MAX_CHUNK_BYTES)
    throw new Error(`cannot encode chunk: ${data.byteLength} bytes is over ${MAX_CHUNK_BYTES}`);
  const frame = new Uint8Array(HEADER_FIXED + id.length + data.byteLength);
  const view = new DataView(frame.buffer);
  frame[0] = FRAME_CHUNK;
  frame[1] = PROTOCOL_VERSION;
  view.setUint32(2, seq);
  frame[6] = id.length;
  for (let i = 0; i < id.length; i++) frame[HEADER_FIXED + i] = id.charCodeAt(i);
  frame.set(data, HEADER_FIXED + id.length);
  return frame;
}

/**
 * One received WebSocket message (text as string; binary as ArrayBuffer, a Uint8Array view or Node Buffer)
 * to a validated message. Throws `TunnelDecodeError`; the receiver counts it and, for a connection-level
 * problem, closes with CLOSE_CODES.badMessage.
 */
export function decodeMessage(raw: string | ArrayBuffer | ArrayBufferView): TunnelMessage {
  if (typeof raw === 'string') return decodeControl(raw);
  const bytes =
    raw instanceof ArrayBuffer
      ? new Uint8Array(raw)
      : new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  if (bytes.byteLength > 0 && bytes[0] !== FRAME_CHUNK) {
    // Some WebSocket stacks deliver text frames as bytes; a JSON object starts with '{'.
    if (bytes[0] === 0x7b) return decodeControl(utf8(bytes));
    throw new TunnelDecodeError(`unknown binary frame type ${bytes[0]}`);
  }
  return decodeChunk(bytes);
}

export function decodeChunk(bytes: Uint8Array): ChunkMessage {
  if (bytes.byteLength < HEADER_FIXED + 1) throw new TunnelDecodeError('chunk frame is too short');
  if (bytes[0] !== FRAME_CHUNK) throw new TunnelDecodeError(`frame type ${bytes[0]} is not a chunk`);
  if (bytes[1] !== PROTOCOL_VERSION)
    throw new TunnelDecodeError(`chunk frame has protocol version ${bytes[1]}, expected ${PROTOCOL_VERSION}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = view.getUint32(2);
  const idLength = bytes[6]!;
  if (idLength === 0 || HEADER_FIXED + idLength > bytes.byteLength)
    throw new TunnelDecodeError(`chunk frame has a bad id length ${idLength}`);
  let id = '';
  for (let i = 0; i < idLength; i++) id += String.fromCharCode(bytes[HEADER_FIXED + i]!);
  if (!REQUEST_ID.test(id)) throw new TunnelDecodeError('chunk frame has a bad request id');
  const data = bytes.subarray(HEADER_FIXED + idLength);
  if (data.byteLength > MAX_CHUNK_BYTES)
    throw new TunnelDecodeError(`chunk of ${data.byteLength} bytes is over ${MAX_CHUNK_BYTES}`);
  return { type: 'chunk', id, seq, data };
}

export function decodeControl(text: string): ControlMessage {
  // Characters, not bytes: a cheap first bound (a character is at least one byte) before parsing.
  if (text.length > MAX_CONTROL_MESSAGE_BYTES)
    throw new TunnelDecodeError(`text message of ${text.length} characters is over the limit`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TunnelDecodeError('text message is not JSON');
  }
  const parsed = controlMessage.safeParse(value);
  if (!parsed.success) throw new TunnelDecodeError(formatIssues(parsed.error));
  return parsed.data;
}

/** Splits a body into views of at most `max` bytes (no copies); an empty body gives no chunks. */
export function* splitIntoChunks(body: Uint8Array, max = MAX_CHUNK_BYTES): Generator<Uint8Array> {
  for (let off = 0; off < body.byteLength; off += max)
    yield body.subarray(off, Math.min(off + max, body.byteLength));
}

export function utf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new TunnelDecodeError('text is not valid UTF-8');
  }
}

export function toUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** zod issues as one line: `params.limit: Too big...; type: Invalid input`. */
export function formatIssues(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? `${i.path.map(String).join('.')}: ` : ''}${i.message}`)
    .join('; ');
}
