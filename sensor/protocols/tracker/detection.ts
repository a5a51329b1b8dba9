import type { ProtocolName, ProtocolSpec, Role } from '../contract.ts';
import type { ConnectionInfo, Direction } from './connectionTracker.ts';

/** Chunks shorter than this are joined with the next ones before detection gives up on them. */
export const MIN_DETECT_BYTES = 32;

/** Below this score the bytes do not look enough like any protocol; try the next chunk. */
export const MIN_DETECT_SCORE = 0.5;

export interface Detected {
  spec: ProtocolSpec;
  /** The observed side's role as the bytes tell it (`unknown` when they do not). */
  role: Role;
}

/**
 * Picks the spec whose detector scores the chunk highest. Ports are hints the detectors may use to raise a
 * score the bytes already support; only an explicit `decodeAs` mapping (the user's word) skips the bytes.
 */
export function detectProtocol(
  specs: readonly ProtocolSpec[],
  info: ConnectionInfo,
  role: Role,
  direction: Direction,
  data: Uint8Array,
  decodeAs?: ReadonlyMap<number, ProtocolName>,
): Detected | undefined {
  const input = {
    data,
    direction,
    role,
    localPort: info.local.port,
    remotePort: info.remote.port,
    transport: info.transport,
  };
  if (decodeAs !== undefined && decodeAs.size > 0) {
    const forced = decodeAs.get(info.remote.port) ?? decodeAs.get(info.local.port);
    if (forced !== undefined) {
      const spec = specs.find((s) => s.protocol === forced);
      if (spec !== undefined) {
        if (role !== 'unknown') return { spec, role };
        // The user named the protocol; which side serves comes from the bytes when they tell (a port named
        // from the client's side, as with tshark's decode-as), else whoever has the named port serves.
        const told = spec.detect(input);
        if (told.score > 0 && told.messageType !== undefined)
          return { spec, role: roleOf(direction, told.messageType) };
        return { spec, role: decodeAs.has(info.remote.port) ? 'client' : 'server' };
      }
    }
  }
  let best: ProtocolSpec | undefined;
  let bestScore = 0;
  let bestType: 'request' | 'response' | undefined;
  for (const spec of specs) {
    const r = spec.detect(input);
    if (r.score > bestScore) {
      best = spec;
      bestScore = r.score;
      bestType = r.messageType;
    }
  }
  if (best === undefined || bestScore < MIN_DETECT_SCORE) return undefined;
  const inferred: Role = bestType === undefined ? 'unknown' : roleOf(direction, bestType);
  return { spec: best, role: role === 'unknown' ? inferred : role };
}

/** The observed process is the client when the bytes it wrote are a request (or the bytes it read an answer). */
function roleOf(direction: Direction, type: 'request' | 'response'): Role {
  return (direction === 'egress') === (type === 'request') ? 'client' : 'server';
}
