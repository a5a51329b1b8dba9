/**
 * The edge's side of one request: turns the portal's `head`, chunks, `end` / `error` back into an HTTP-like
 * answer (a head promise and a body stream), checking that chunks arrive in order and that `end`'s totals match.
 * Runtime-neutral (Web streams only), so the Durable Object and the tests' fake edge share it.
 *
 * Call `accept()` from the WebSocket message handler for every message with this request's id, and `fail()`
 * when the tunnel closes or the deadline passes. Chunk data is copied unless `keepFrames` is set: a receiver
 * whose runtime hands it a fresh buffer per message that nobody else reuses (workerd) may keep the views.
 * A whole-answer frame also sets `whole`, so the receiver can answer with a complete body instead of the stream.
 */
import {
  type AnswerMessage,
  type ChunkMessage,
  type EndMessage,
  ERROR_HTTP_STATUS,
  type ErrorMessage,
  type HeadMessage,
  type TunnelErrorCode,
} from './messages.ts';

export type ResponseMessage = HeadMessage | ChunkMessage | EndMessage | ErrorMessage | AnswerMessage;

/** A request that failed, with the HTTP status the edge should answer (when no head was sent yet). */
export class TunnelRequestError extends Error {
  readonly status: number;
  constructor(
    readonly code: TunnelErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TunnelRequestError';
    this.status = ERROR_HTTP_STATUS[code];
  }
}

export class ResponseAssembler {
  /** Resolves with the head; rejects with TunnelRequestError if the request fails before it. */
  readonly head: Promise<HeadMessage>;
  /** The body; errors with TunnelRequestError if the request fails after the head. */
  readonly body: ReadableStream<Uint8Array>;
  private resolveHead!: (h: HeadMessage) => void;
  private rejectHead!: (e: Error) => void;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private gotHead = false;
  private nextSeq = 0;
  private bytes = 0;
  private done = false;
  /** The complete body, when it came in one answer frame (then `body` holds the same bytes). */
  whole: Uint8Array | undefined;

  constructor(
    readonly id: string,
    private readonly keepFrames = false,
  ) {
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    // Nobody may await `head` (e.g. the caller left): do not turn that into an unhandled rejection.
    this.head.catch(() => {});
    this.body = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.controller = c;
      },
    });
  }

  get finished(): boolean {
    return this.done;
  }

  accept(msg: ResponseMessage): void {
    if (this.done) return;
    if (msg.type === 'error') {
      this.fail(new TunnelRequestError(msg.code, msg.message));
      return;
    }
    if (msg.type === 'answer') {
      if (this.gotHead) {
        this.fail(new TunnelRequestError('internal', 'the portal sent an answer after a head'));
        return;
      }
      const data = this.keepFrames ? msg.data : msg.data.slice();
      this.gotHead = true;
      this.done = true;
      this.whole = data;
      this.bytes = data.byteLength;
      if (data.byteLength > 0) this.controller.enqueue(data);
      this.controller.close();
      this.resolveHead({ type: 'head', id: msg.id, status: msg.status, contentType: msg.contentType });
      return;
    }
    const problem = this.problemWith(msg);
    if (problem) {
      this.fail(new TunnelRequestError('internal', problem));
      return;
    }
    if (msg.type === 'head') {
      this.gotHead = true;
      this.resolveHead(msg);
    } else if (msg.type === 'chunk') {
      this.nextSeq++;
      this.bytes += msg.data.byteLength;
      this.controller.enqueue(this.keepFrames ? msg.data : msg.data.slice());
    } else {
      this.done = true;
      this.controller.close();
    }
  }

  /** What is wrong with a message in this request's sequence, if anything. */
  private problemWith(msg: HeadMessage | ChunkMessage | EndMessage): string | undefined {
    if (msg.type === 'head') return this.gotHead ? 'the portal sent two heads' : undefined;
    if (!this.gotHead) return `the portal sent ${msg.type} before the head`;
    if (msg.type === 'chunk')
      return msg.seq === this.nextSeq ? undefined : `chunk ${msg.seq} arrived where ${this.nextSeq} was due`;
    if (msg.chunks !== this.nextSeq || msg.bytes !== this.bytes)
      return `the answer is incomplete: end says ${msg.chunks} chunks / ${msg.bytes} bytes, got ${this.nextSeq} / ${this.bytes}`;
    return undefined;
  }

  /** Ends the request with an error (tunnel closed, deadline, bad sequence). Safe to call more than once. */
  fail(error: TunnelRequestError): void {
    if (this.done) return;
    this.done = true;
    if (!this.gotHead) this.rejectHead(error);
    this.controller.error(error);
  }
}
