import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * Every error the API returns has the same shape: `{ "error": { "code", "message", "issues"? } }`.
 * Handlers throw ApiError; index.ts's onError turns it (and anything else) into that shape.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'unauthenticated'
  | 'forbidden'
  | 'csrf_failed'
  | 'not_found'
  | 'conflict'
  | 'too_many_requests'
  | 'payload_too_large'
  | 'sso_failed'
  | 'upstream_failed'
  | 'internal';

export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly issues?: { path: string; message: string }[],
  ) {
    super(status, { message });
  }
}

export const unauthenticated = () =>
  new ApiError(401, 'unauthenticated', 'cannot authenticate: sign in first');
export const forbidden = (why: string) => new ApiError(403, 'forbidden', `cannot authorize: ${why}`);
export const notFound = (what: string) => new ApiError(404, 'not_found', `cannot find ${what}`);
export const conflict = (why: string) => new ApiError(409, 'conflict', why);
export const invalid = (why: string) => new ApiError(400, 'invalid_request', why);

/** D1 reports constraint violations as plain errors whose message names the constraint. */
export function isUniqueViolation(err: unknown): boolean {
  const text = `${String(err)} ${String((err as { cause?: unknown })?.cause ?? '')}`;
  return text.includes('UNIQUE constraint failed');
}
