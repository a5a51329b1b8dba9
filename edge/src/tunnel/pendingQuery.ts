/**
 * One query in flight inside a cluster's Durable Object: the assembler that rebuilds the portal's answer, the
 * socket it was sent on, and its deadline. Lives only in memory: the Durable Object cannot hibernate while a
 * caller's request is open, so nothing here has to survive hibernation.
 */
import {
  type ChunkMessage,
  type EndMessage,
  encodeControl,
  type RequestMessage,
  ResponseAssembler,
  type ResponseMessage,
  TunnelRequestError,
} from '../../../lib/tunnel/index.ts';

/**
 * Bytes of chunks held while an earlier one is missing. workerd does not always hand a Durable Object the
 * messages of one socket in the order they were sent (seen in tests: a binary chunk delivered after the text
 * `end` that followed it), so chunks are put back in `seq` order here and an early `end` waits for them.
 */
const MAX_REORDER_BYTES = 8 * 1024 * 1024;

export class PendingQuery {
  readonly assembler: ResponseAssembler;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private gotHead = false;
  private nextSeq = 0;
  private readonly early = new Map<number, ChunkMessage>();
  private earlyBytes = 0;
  private earlyEnd: EndMessage | undefined;
  /** The portal socket the request was last sent on; answers from any other socket are ignored. */
  socket: WebSocket | undefined;
  /** How many times the request was sent (again to another replica when a socket went away unanswered). */
  dispatches = 0;

  constructor(
    readonly request: RequestMessage,
    deadlineMs: number,
    private readonly onDone: (q: PendingQuery) => void,
  ) {
    // workerd hands each message a fresh ArrayBuffer that nothing else touches: chunks are kept, not copied.
    this.assembler = new ResponseAssembler(request.id, true);
    this.timer = setTimeout(() => {
      this.cancel(
        new TunnelRequestError('timeout', `cannot answer in time: no complete answer in ${deadlineMs} ms`),
      );
    }, deadlineMs);
  }

  get id(): string {
    return this.request.id;
  }

  /** Whether any part of the answer arrived: then it cannot be asked of another replica any more. */
  get answerStarted(): boolean {
    return this.gotHead || this.early.size > 0 || this.earlyEnd !== undefined;
  }

  /** Sends the request on `ws` (throws if the socket cannot take it). Only read queries: safe to resend. */
  dispatch(ws: WebSocket): void {
    this.socket = ws;
    this.dispatches++;
    ws.send(encodeControl(this.request));
  }

  /** Called from the socket's message handler; a chunk's data is kept (the frame is ours, see above). */
  accept(msg: ResponseMessage): void {
    if (msg.type === 'answer') {
      // Head, body and end in one frame: nothing to reorder (an answer after chunks fails in the assembler).
      this.deliver(msg);
      return;
    }
    if (msg.type === 'chunk' && (!this.gotHead || msg.seq !== this.nextSeq)) {
      this.earlyBytes += msg.data.byteLength;
      if (this.earlyBytes > MAX_REORDER_BYTES || this.early.has(msg.seq) || msg.seq < this.nextSeq) {
        this.fail(
          new TunnelRequestError('internal', `chunk ${msg.seq} arrived out of order and cannot be placed`),
        );
        return;
      }
      this.early.set(msg.seq, msg);
      return;
    }
    if (msg.type === 'end' && msg.chunks > this.nextSeq && !this.earlyEnd) {
      this.earlyEnd = msg;
      return;
    }
    this.deliver(msg);
    // Whatever was waiting for this message.
    for (let next = this.early.get(this.nextSeq); this.gotHead && next; next = this.early.get(this.nextSeq)) {
      this.early.delete(next.seq);
      this.earlyBytes -= next.data.byteLength;
      this.deliver(next);
    }
    if (this.earlyEnd && this.earlyEnd.chunks <= this.nextSeq) {
      const end = this.earlyEnd;
      this.earlyEnd = undefined;
      this.deliver(end);
    }
  }

  private deliver(msg: ResponseMessage): void {
    if (msg.type === 'head' || msg.type === 'answer') this.gotHead = true;
    if (msg.type === 'chunk') this.nextSeq++;
    this.assembler.accept(msg);
    if (this.assembler.finished) this.finish();
  }

  /** The tunnel closed under the request: nothing to tell the portal. */
  fail(error: TunnelRequestError): void {
    this.assembler.fail(error);
    this.finish();
  }

  /** The caller left or the deadline passed: tell the portal to stop, then end the request. */
  cancel(error: TunnelRequestError): void {
    if (this.assembler.finished) return;
    try {
      this.socket?.send(encodeControl({ type: 'cancel', id: this.id }));
    } catch {
      // The socket is closing; its close handler fails the request anyway.
    }
    this.fail(error);
  }

  private finish(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.onDone(this);
  }
}

/**
 * The caller's view of the answer body: the assembler's stream, plus `cancel` when the caller stops reading
 * (client gone), which sends `cancel` to the portal.
 */
export function callerBody(query: PendingQuery): ReadableStream<Uint8Array> {
  const reader = query.assembler.body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        controller.error(err);
      }
    },
    cancel() {
      query.cancel(new TunnelRequestError('cancelled', 'the caller went away'));
    },
  });
}
