/**
 * The tunnel between a cluster's portal (Node) and its Durable Object on the edge (workerd): one WebSocket that
 * the portal dials OUT to `<edgeUrl>/api/v1/tunnel/connect`, carrying many requests in flight.
 *
 * This file is shared by both runtimes, so it uses nothing but the language, zod and Web-standard globals
 * (TextEncoder/TextDecoder, Uint8Array): no Node and no Workers APIs.
 *
 * Wire format (protocol version 1):
 * - control messages are WebSocket TEXT frames holding one JSON object with a `type` (schemas below);
 * - response body chunks are BINARY frames (codec.ts), so bytes pass through the edge without re-encoding.
 *
 * Conversation: portal -> `hello`; edge -> `request`*; portal -> per request `head`, chunk*, then `end`, or
 * (version 2) one binary `answer` holding head, whole body and end when the body fits in one frame (most
 * answers: one message instead of three, and the edge can answer with a complete body instead of a stream), or
 * `error` at any point (also after `head`: the caller must then abort the body it was streaming);
 * edge -> `cancel` when the caller went away; either side -> `ping`, the other -> `pong`.
 */
import { z } from 'zod';

/**
 * Bumped on any incompatible change. The edge accepts portals speaking MIN_PROTOCOL_VERSION..PROTOCOL_VERSION
 * and closes others with CLOSE_CODES.unsupportedVersion; so upgrade the edge first, then the portals.
 * 2: the whole-answer frame (FRAME_ANSWER) and chunks of up to 768 KiB (1: 256 KiB, head/chunk/end only).
 */
export const PROTOCOL_VERSION = 2;
export const MIN_PROTOCOL_VERSION = 1;

/** Where the portal dials in; the install token goes in `Authorization: Bearer <token>` on the upgrade. */
export const TUNNEL_CONNECT_PATH = '/api/v1/tunnel/connect';

/**
 * Response bytes per binary frame. workerd limits a WebSocket message to 1 MiB; 768 KiB leaves room for the
 * frame header. Fewer, larger frames matter: every frame is one message event in the Durable Object and one
 * piece through each hop back to the caller (measured: bench/edge/tunnel.bench.ts, large answer).
 */
export const MAX_CHUNK_BYTES = 768 * 1024;

/** Upper bound of a control (text) message, e.g. a request with a long PromQL expression. */
export const MAX_CONTROL_MESSAGE_BYTES = 256 * 1024;

/** Request ids are chosen by the edge; short and printable so they can be logged and put in a frame header. */
export const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * WebSocket close codes (4000-4999 is the application range). A portal reconnects after every code except
 * `unsupportedVersion` and `unauthorized`, which need an operator (upgrade, new install token).
 */
export const CLOSE_CODES = {
  /** The portal is shutting down or the edge is being redeployed. */
  goingAway: 1001,
  /** A message could not be decoded; the sender has a bug. */
  badMessage: 4400,
  /** The install token stopped working (rotated or cluster deleted) while connected. */
  unauthorized: 4401,
  /** Another connection of the same replica id replaced this one. */
  replaced: 4409,
  /** No hello within the edge's time limit. */
  helloTimeout: 4408,
  /** Queries were in flight but the portal answered nothing, not even a ping, for the edge's heartbeat limit. */
  unresponsive: 4410,
  /** The portal speaks a protocol version the edge does not. */
  unsupportedVersion: 4426,
} as const;

/** Why a request failed. Each maps to one HTTP status the edge answers with (`ERROR_HTTP_STATUS`). */
export const ERROR_CODES = [
  'bad_request',
  'not_found',
  'timeout',
  'cancelled',
  'overloaded',
  'too_large',
  'unavailable',
  'internal',
] as const;
export type TunnelErrorCode = (typeof ERROR_CODES)[number];

export const ERROR_HTTP_STATUS: Record<TunnelErrorCode, number> = {
  bad_request: 400,
  not_found: 404,
  timeout: 504,
  cancelled: 499,
  overloaded: 429,
  too_large: 413,
  unavailable: 503,
  internal: 500,
};

const requestId = z.string().regex(REQUEST_ID, 'must be 1-64 characters of A-Z a-z 0-9 _ -');
const shortText = (max: number) => z.string().min(1).max(max);

export const helloMessage = z.strictObject({
  type: z.literal('hello'),
  version: z.number().int().positive(),
  /** What the portal was configured with, if anything; the edge trusts the install token's cluster. */
  clusterId: shortText(128).nullable(),
  /** Stable per portal process (e.g. the pod name), so the edge can tell replicas apart and replace stale ones. */
  replicaId: shortText(128),
  /** The request kinds this portal answers (queries.ts QUERY_KINDS); the edge refuses others with 501. */
  capabilities: z.array(shortText(64)).max(64),
  /** The portal's build, for the clusters page. */
  software: shortText(128).optional(),
});

export const requestMessage = z.strictObject({
  type: z.literal('request'),
  id: requestId,
  kind: shortText(64),
  /** Checked against the kind's schema (queries.ts) by the portal, so a bad one fails that request only. */
  params: z.unknown(),
  /**
   * Time the portal may spend, counted from when it receives the request. Relative rather than an absolute
   * deadline because the edge's and the cluster's clocks are not synchronised.
   */
  timeoutMs: z.number().int().min(1).max(300_000),
});

export const headMessage = z.strictObject({
  type: z.literal('head'),
  id: requestId,
  status: z.number().int().min(100).max(599),
  contentType: shortText(256),
});

export const endMessage = z.strictObject({
  type: z.literal('end'),
  id: requestId,
  /** Totals so the receiver can check it got every chunk. */
  chunks: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});

export const errorMessage = z.strictObject({
  type: z.literal('error'),
  id: requestId,
  code: z.enum(ERROR_CODES),
  message: z.string().max(4096),
});

export const cancelMessage = z.strictObject({
  type: z.literal('cancel'),
  id: requestId,
});

/**
 * Keep-alive. Deliberately constant (no nonce): the Durable Object can answer it with
 * `setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_TEXT, PONG_TEXT))` without waking from
 * hibernation. Either side may send it; any message received counts as a sign of life.
 */
export const pingMessage = z.strictObject({ type: z.literal('ping') });
export const pongMessage = z.strictObject({ type: z.literal('pong') });
export const PING_TEXT = '{"type":"ping"}';
export const PONG_TEXT = '{"type":"pong"}';
/**
 * The portal sends this ping right after its hello. It is a valid ping but NOT byte-equal to PING_TEXT, so the
 * Durable Object answers it itself, after it has taken the hello (messages of one socket are handled in order):
 * the pong tells the portal that the edge will route queries to it. Until then the portal is not "open".
 */
export const READY_PING_TEXT = '{"type": "ping"}';

/** Every text message of the protocol. */
export const controlMessage = z.discriminatedUnion('type', [
  helloMessage,
  requestMessage,
  headMessage,
  endMessage,
  errorMessage,
  cancelMessage,
  pingMessage,
  pongMessage,
]);

export type HelloMessage = z.infer<typeof helloMessage>;
export type RequestMessage = z.infer<typeof requestMessage>;
export type HeadMessage = z.infer<typeof headMessage>;
export type EndMessage = z.infer<typeof endMessage>;
export type ErrorMessage = z.infer<typeof errorMessage>;
export type CancelMessage = z.infer<typeof cancelMessage>;
export type PingMessage = z.infer<typeof pingMessage>;
export type PongMessage = z.infer<typeof pongMessage>;
export type ControlMessage = z.infer<typeof controlMessage>;

/**
 * One piece of a response body, sent as a binary frame. `seq` counts from 0 per request. `data` is a view
 * into the received frame: a receiver that keeps it past the message handler must copy it.
 */
export interface ChunkMessage {
  type: 'chunk';
  id: string;
  seq: number;
  data: Uint8Array;
}

/**
 * A whole answer in one binary frame (protocol version 2): what `head`, one chunk and `end` would say. Sent
 * when the body is complete and fits in MAX_CHUNK_BYTES. `data` is a view into the received frame, as in
 * ChunkMessage.
 */
export interface AnswerMessage {
  type: 'answer';
  id: string;
  status: number;
  contentType: string;
  data: Uint8Array;
}

export type TunnelMessage = ControlMessage | ChunkMessage | AnswerMessage;
