import type { ProtocolSpec } from '../contract.ts';
import { detectMysql, findMysqlBoundary, parseMysql } from './parse.ts';
import { releaseCut, stitchMysql } from './stitch.ts';
import type { MyFrame, MyState } from './types.ts';

/** MySQL / MariaDB client protocol (client = request, server = response), compressed or not. */
export const spec: ProtocolSpec<MyFrame, MyState> = {
  protocol: 'mysql',
  detect: detectMysql,
  newState: () => ({
    statements: new Map(),
    serverCapabilities: 0,
    clientCapabilities: 0,
    inLogin: false,
    encrypted: false,
    compressedFraming: false,
    plain: { request: new Uint8Array(0), response: new Uint8Array(0) },
  }),
  parseFrame: parseMysql,
  findFrameBoundary: (type, buf, offset) => findMysqlBoundary(type, buf, offset),
  stitch: stitchMysql,
  releaseHeld: releaseCut,
};

export type { MyFrame, MyState } from './types.ts';
