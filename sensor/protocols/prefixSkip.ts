import type { MessageType, ParseResult } from './contract.ts';

/**
 * For length-prefixed protocols whose parser reads a message from its first bytes (Kafka, MongoDB): the
 * bytes of the current message per direction still to skip once its frame is out. A large message then
 * costs its prefix, never a buffer of its size, and a capture that copied only a prefix (the rest
 * zero-filled by the live source) still yields the frame.
 */
export interface SkipState {
  skipRequest: number;
  skipResponse: number;
}

/** What is left to skip of `type`'s current message, as an `ignored` result; undefined when nothing is. */
export function skipRest(type: MessageType, avail: number, state: SkipState): ParseResult<never> | undefined {
  const left = type === 'request' ? state.skipRequest : state.skipResponse;
  if (left <= 0) return undefined;
  const n = Math.min(left, avail);
  if (type === 'request') state.skipRequest -= n;
  else state.skipResponse -= n;
  return { state: 'ignored', consumed: n };
}

/** The current message of `type` has `n` more bytes than its frame consumed. */
export function skipLater(type: MessageType, state: SkipState, n: number): void {
  if (type === 'request') state.skipRequest = n;
  else state.skipResponse = n;
}

/** `onGap`: what was being skipped belonged to the message the gap lost. */
export function skipGap(type: MessageType, state: SkipState): void {
  skipLater(type, state, 0);
}
