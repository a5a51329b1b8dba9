/**
 * Encoding and decoding of tunnel messages (see messages.ts for the protocol). Runtime-neutral: used by the
 * portal (Node, `ws`) and by the Durable Object (workerd, hibernation API).
 *
 * Binary chunk frame, all integers big-endian:
 *   0      u8   FRAME_CHUNK (0x01)
 *   1      u8   protocol version of the sender (MIN_PROTOCOL_VERSION..PROTOCOL_VERSION)
 *   2..5   u32  seq
 *   6      u8   id length N (1..64)
 *   7..    N    id, ASCII
 *   7+N..       data (0..MAX_CHUNK_BYTES)
 *
 * Binary answer frame (version 2: head + whole body + end in one message):
 *   0      u8   FRAME_ANSWER (0x02)
 *   1      u8   protocol version (>= 2)
 *   2..3   u16  HTTP status (100..599)
 *   4      u8   id length N (1..64)
 *   5..    N    id, ASCII
 *   5+N    u16  content type length M (1..256)
 *   7+N..  M    content type, UTF-8
 *   7+N+M..     data (0..MAX_CHUNK_BYTES)
 */
import {
  type AnswerMessage,
  type ChunkMessage,
  type ControlMessage,
  controlMessage,
  MAX_CHUNK_BYTES,
  MAX_CONTROL_MESSAGE_BYTES,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  REQUEST_ID,
  type TunnelMessage,
} from './messages.ts';

export const FRAME_CHUNK = 0x01;
export const FRAME_ANSWER = 0x02;
const HEADER_FIXED = 7;
const ANSWER_FIXED = 7;
const MAX_CONTENT_TYPE_BYTES = 256;

/** Body bytes given as one buffer or as the pieces a stream delivered (copied into the frame once). */
export type BodyBytes = Uint8Array | readonly Uint8Array[];

function byteLength(data: BodyBytes): number {
  if (data instanceof Uint8Array) return data.byteLength;
  let n = 0;
  for (const d of data) n += d.byteLength;
  return n;
}

function copyInto(frame: Uint8Array, data: BodyBytes, offset: number): void {
  if (data instanceof Uint8Array) {
    frame.set(data, offset);
    return;
  }
  for (const d of data) {
    frame.set(d, offset);
    offset += d.byteLength;
  }
}

function checkId(id: string, what: string): void {
  if (!REQUEST_ID.test(id)) throw new Error(`cannot encode ${what}: bad request id ${JSON.stringify(id)}`);
}

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
export function encodeChunk(id: string, seq: number, data: BodyBytes): Uint8Array {
  checkId(id, 'chunk');
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff)
    throw new Error(`cannot encode chunk: seq ${seq} out of range`);
  const size = byteLength(data);
  if (size > MAX_CHUNK_BYTES)
    throw new Error(`cannot encode chunk: ${size} bytes is over ${MAX_CHUNK_BYTES}`);
  const frame = new Uint8Array(HEADER_FIXED + id.length + size);
  const view = new DataView(frame.buffer);
  frame[0] = FRAME_CHUNK;
  frame[1] = PROTOCOL_VERSION;
  view.setUint32(2, seq);
  frame[6] = id.length;
  for (let i = 0; i < id.length; i++) frame[HEADER_FIXED + i] = id.charCodeAt(i);
  copyInto(frame, data, HEADER_FIXED + id.length);
  return frame;
}

/** A whole answer (head, body, end) as one binary frame; copies `data`, the caller keeps ownership of it. */
export function encodeAnswer(id: string, status: number, contentType: string, data: BodyBytes): Uint8Array {
  checkId(id, 'answer');
  if (!Number.isInteger(status) || status < 100 || status > 599)
    throw new Error(`cannot encode answer: status ${status} out of range`);
  const type = encoder.encode(contentType);
  if (type.byteLength === 0 || type.byteLength > MAX_CONTENT_TYPE_BYTES)
    throw new Error(`cannot encode answer: content type of ${type.byteLength} bytes`);
  const size = byteLength(data);
  if (size > MAX_CHUNK_BYTES)
    throw new Error(`cannot encode answer: ${size} bytes is over ${MAX_CHUNK_BYTES}`);
  const bodyAt = ANSWER_FIXED + id.length + type.byteLength;
  const frame = new Uint8Array(bodyAt + size);
  const view = new DataView(frame.buffer);
  frame[0] = FRAME_ANSWER;
  frame[1] = PROTOCOL_VERSION;
  view.setUint16(2, status);
  frame[4] = id.length;
  for (let i = 0; i < id.length; i++) frame[5 + i] = id.charCodeAt(i);
  view.setUint16(5 + id.length, type.byteLength);
  frame.set(type, ANSWER_FIXED + id.length);
  copyInto(frame, data, bodyAt);
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
  if (bytes[0] === FRAME_ANSWER) return decodeAnswer(bytes);
  if (bytes.byteLength > 0 && bytes[0] !== FRAME_CHUNK) {
    // Some WebSocket stacks deliver text frames as bytes; a JSON object starts with '{'.
    if (bytes[0] === 0x7b) return decodeControl(utf8(bytes));
    throw new TunnelDecodeError(`unknown binary frame type ${bytes[0]}`);
  }
  return decodeChunk(bytes);
}

/** Reads `length` ASCII id characters at `at`, checked against REQUEST_ID. */
function readId(bytes: Uint8Array, at: number, length: number, what: string): string {
  if (length === 0 || at + length > bytes.byteLength)
    throw new TunnelDecodeError(`${what} frame has a bad id length ${length}`);
  let id = '';
  for (let i = 0; i < length; i++) id += String.fromCharCode(bytes[at + i]!);
  if (!REQUEST_ID.test(id)) throw new TunnelDecodeError(`${what} frame has a bad request id`);
  return id;
}

export function decodeAnswer(bytes: Uint8Array): AnswerMessage {
  if (bytes.byteLength < ANSWER_FIXED + 2) throw new TunnelDecodeError('answer frame is too short');
  if (bytes[1]! < 2 || bytes[1]! > PROTOCOL_VERSION)
    throw new TunnelDecodeError(`answer frame has protocol version ${bytes[1]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const status = view.getUint16(2);
  if (status < 100 || status > 599) throw new TunnelDecodeError(`answer frame has status ${status}`);
  const idLength = bytes[4]!;
  const id = readId(bytes, 5, idLength, 'answer');
  if (5 + idLength + 2 > bytes.byteLength) throw new TunnelDecodeError('answer frame is too short');
  const typeLength = view.getUint16(5 + idLength);
  const typeAt = ANSWER_FIXED + idLength;
  if (typeLength === 0 || typeLength > MAX_CONTENT_TYPE_BYTES || typeAt + typeLength > bytes.byteLength)
    throw new TunnelDecodeError(`answer frame has a bad content type length ${typeLength}`);
  const contentType = utf8(bytes.subarray(typeAt, typeAt + typeLength));
  const data = bytes.subarray(typeAt + typeLength);
  if (data.byteLength > MAX_CHUNK_BYTES)
    throw new TunnelDecodeError(`answer of ${data.byteLength} bytes is over ${MAX_CHUNK_BYTES}`);
  return { type: 'answer', id, status, contentType, data };
}

export function decodeChunk(bytes: Uint8Array): ChunkMessage {
  if (bytes.byteLength < HEADER_FIXED + 1) throw new TunnelDecodeError('chunk frame is too short');
  if (bytes[0] !== FRAME_CHUNK) throw new TunnelDecodeError(`frame type ${bytes[0]} is not a chunk`);
  if (bytes[1]! < MIN_PROTOCOL_VERSION || bytes[1]! > PROTOCOL_VERSION)
    throw new TunnelDecodeError(
      `chunk frame has protocol version ${bytes[1]}, expected ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = view.getUint32(2);
  const idLength = bytes[6]!;
  const id = readId(bytes, HEADER_FIXED, idLength, 'chunk');
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
