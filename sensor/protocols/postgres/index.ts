import type { ProtocolSpec } from '../contract.ts';
import { detectPostgres, findPostgresBoundary, parsePostgres } from './parse.ts';
import { releaseCut, stitchPostgres } from './stitch.ts';
import type { PgFrame, PgState } from './types.ts';

/** PostgreSQL wire protocol 3.0 (frontend = request, backend = response). */
export const spec: ProtocolSpec<PgFrame, PgState> = {
  protocol: 'postgres',
  detect: detectPostgres,
  newState: () => ({
    statements: new Map(),
    portals: new Map(),
    awaitingSslAnswer: false,
    encrypted: false,
    skipReadyForQuery: false,
  }),
  parseFrame: parsePostgres,
  findFrameBoundary: (type, buf, offset) => findPostgresBoundary(type, buf, offset),
  stitch: stitchPostgres,
  releaseHeld: releaseCut,
};

export type { PgFrame, PgState } from './types.ts';
