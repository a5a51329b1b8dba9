import type { Frame } from '../contract.ts';

/** One DNS message (query or response), reduced to what an API call needs. */
export interface DnsFrame extends Frame {
  id: number;
  isResponse: boolean;
  opcode: number;
  rcode: number;
  /** First question's name ('' when the question section is missing or malformed). */
  qname: string;
  /** First question's type (0 when missing). */
  qtype: number;
  answerCount: number;
  /** Bounded rendering of the first answers (A, AAAA, CNAME, ...). */
  answers: string[];
  /** Smallest TTL (seconds) of those answers; lets the sensor cache IP -> name no longer than the resolver. */
  minTtl?: number;
}

export interface DnsState {
  /** Queries seen per id, waiting for their response. */
  pending: number;
}

export const MAX_ANSWERS_KEPT = 8;
/** RFC 1035: a name is at most 255 octets; pointers beyond this many hops are a loop. */
export const MAX_NAME_LENGTH = 255;
export const MAX_POINTER_HOPS = 64;
