import type { ApiCall, ConnectionMeta, Frame, MessageType, ProtocolSpec } from '../contract.ts';

/**
 * A minimal stand-in for the connection tracker, used by part B's protocol tests: it buffers each
 * direction, runs `parseFrame` until it needs more data, resynchronises with `findFrameBoundary` after
 * `invalid`, stitches after every chunk, and `drive` ends the connection after the last one. Test-only: no
 * bounds, no expiry.
 */
export interface Chunk {
  type: MessageType;
  tsNs: bigint;
  data: Uint8Array;
}

export interface DriveResult {
  calls: ApiCall[];
  stitchErrors: number;
  invalid: number;
  leftoverRequests: number;
  leftoverResponses: number;
}

export class StreamDriver<F extends Frame, S> {
  private readonly state: S;
  private readonly pending: Record<MessageType, Uint8Array> = {
    request: new Uint8Array(0),
    response: new Uint8Array(0),
  };
  private readonly frames: Record<MessageType, F[]> = { request: [], response: [] };
  private readonly ended: Record<MessageType, boolean> = { request: false, response: false };
  readonly result: DriveResult = {
    calls: [],
    stitchErrors: 0,
    invalid: 0,
    leftoverRequests: 0,
    leftoverResponses: 0,
  };

  constructor(
    private readonly spec: ProtocolSpec<F, S>,
    private readonly meta: ConnectionMeta = { transport: 'tcp' },
  ) {
    this.state = spec.newState(meta);
  }

  push(chunk: Chunk): void {
    const { type } = chunk;
    if (this.ended[type]) return;
    const old = this.pending[type];
    const buf = new Uint8Array(old.length + chunk.data.length);
    buf.set(old, 0);
    buf.set(chunk.data, old.length);
    let offset = 0;
    while (offset < buf.length) {
      const r = this.spec.parseFrame(type, buf, offset, chunk.tsNs, this.state);
      if (r.state === 'needs-more-data') break;
      if (r.state === 'eos') {
        this.ended[type] = true;
        offset = buf.length;
        break;
      }
      if (r.state === 'invalid') {
        this.result.invalid++;
        const next = this.spec.findFrameBoundary(type, buf, offset + 1, this.state);
        offset = next < 0 ? buf.length : next;
        continue;
      }
      if (r.consumed <= 0) throw new Error(`parser returned ${r.state} without consuming bytes`);
      offset += r.consumed;
      if (r.state === 'success' && r.frames) this.frames[type].push(...r.frames);
    }
    this.pending[type] = buf.slice(offset);
    this.stitch();
  }

  /** The connection ends: frames a spec held back (`releaseHeld`) go to a last stitch, as in the tracker. */
  finish(): void {
    if (!this.spec.releaseHeld) return;
    this.spec.releaseHeld(this.frames.request, this.frames.response, this.state);
    this.stitch();
  }

  private stitch(): void {
    const r = this.spec.stitch(this.frames.request, this.frames.response, this.state, this.meta);
    this.result.calls.push(...r.calls);
    this.result.stitchErrors += r.errors;
    this.result.leftoverRequests = this.frames.request.length;
    this.result.leftoverResponses = this.frames.response.length;
  }
}

export function drive<F extends Frame, S>(
  spec: ProtocolSpec<F, S>,
  chunks: Iterable<Chunk>,
  meta?: ConnectionMeta,
): DriveResult {
  const d = new StreamDriver(spec, meta);
  for (const c of chunks) d.push(c);
  d.finish();
  return d.result;
}

/** Splits one message into single-byte chunks: proves a parser copes with any segmentation. */
export function* byteByByte(type: MessageType, data: Uint8Array, tsNs = 0n): Generator<Chunk> {
  for (let i = 0; i < data.length; i++) yield { type, tsNs, data: data.subarray(i, i + 1) };
}
