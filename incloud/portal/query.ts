import type { TunnelErrorCode } from '../../lib/tunnel/index.ts';

/** What a query handler gets besides its params. */
export interface QueryContext {
  /** Aborted when the edge cancels, the deadline passes or the tunnel drops: stop work and return. */
  signal: AbortSignal;
  /** Milliseconds left for this request when the handler starts. */
  timeoutMs: number;
}

/**
 * A handler's answer. `body` is either all bytes at once or a stream of byte buffers; the tunnel splits both
 * into chunks. The tunnel owns the buffers once returned (it sends views of them without copying).
 */
export interface QueryAnswer {
  status: number;
  contentType: string;
  body: Uint8Array | AsyncIterable<Uint8Array>;
}

/** A failure the caller should see with its code (bad input, not found, too large...). */
export class QueryError extends Error {
  constructor(
    readonly code: TunnelErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'QueryError';
  }
}

export function jsonAnswer(value: unknown, status = 200): QueryAnswer {
  return {
    status,
    contentType: 'application/json; charset=utf-8',
    body: new TextEncoder().encode(JSON.stringify(value)),
  };
}

/** Serves one request kind; params are already validated against the kind's schema. */
export type QueryHandler<P = unknown> = (params: P, ctx: QueryContext) => Promise<QueryAnswer>;
