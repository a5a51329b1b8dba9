/**
 * Groups the pieces of an answer body into tunnel frames. A body read from VictoriaMetrics or ClickHouse comes
 * in pieces of a few KiB to 64 KiB; sent one frame each, every piece would be one WebSocket message, one
 * message event in the Durable Object and one piece through every hop back to the caller. Here pieces are
 * gathered up to `maxBytes`, and a frame goes out when it is full, when the body ends, or when the source has
 * been quiet for `quietMs` after the first piece of a frame (a slow stream still streams).
 *
 * The first frame says whether it is the whole body (`last`): then the answer can go as one message.
 * Pieces are kept by reference (not copied): the caller must encode a frame before asking for the next one.
 * Runs on the Node event loop; stopping early (`return()`/throw in the consumer) cancels the source.
 */
export interface BodyFrame {
  /** The pieces of this frame, in order (views into the source's buffers). */
  parts: Uint8Array[];
  bytes: number;
  /** True when the source ended with this frame. */
  last: boolean;
}

const QUIET = Symbol('quiet');

export async function* coalesce(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
  quietMs: number,
): AsyncGenerator<BodyFrame> {
  const it = source[Symbol.asyncIterator]();
  let next: Promise<IteratorResult<Uint8Array>> | undefined;
  let parts: Uint8Array[] = [];
  let bytes = 0;
  let firstAt = 0;
  let finished = false;
  const take = (): BodyFrame => {
    const frame = { parts, bytes, last: false };
    parts = [];
    bytes = 0;
    return frame;
  };
  try {
    for (;;) {
      next ??= it.next();
      let result: IteratorResult<Uint8Array> | typeof QUIET;
      if (bytes === 0) result = await next;
      else {
        const wait = Math.max(0, firstAt + quietMs - performance.now());
        let timer: NodeJS.Timeout | undefined;
        const quiet = new Promise<typeof QUIET>((r) => {
          timer = setTimeout(() => r(QUIET), wait);
        });
        result = await Promise.race([next, quiet]);
        clearTimeout(timer);
      }
      if (result === QUIET) {
        yield take();
        continue;
      }
      next = undefined;
      if (result.done) {
        finished = true;
        yield { ...take(), last: true };
        return;
      }
      let piece = result.value;
      while (piece.byteLength > 0) {
        if (bytes === 0) firstAt = performance.now();
        const room = maxBytes - bytes;
        const part = piece.byteLength <= room ? piece : piece.subarray(0, room);
        parts.push(part);
        bytes += part.byteLength;
        piece = piece.subarray(part.byteLength);
        if (bytes === maxBytes) yield take();
      }
    }
  } finally {
    // Stopped early (too large, aborted): release the source without waiting for a read that may hang.
    if (!finished) void it.return?.()?.catch(() => {});
    next?.catch(() => {});
  }
}
