import type { ApiCall, ConnectionMeta, StitchResult } from '../contract.ts';
import { MAX_PENDING, type MongoFrame, OP } from './types.ts';

/**
 * Pairs a reply with the request whose requestID it names in responseTo. Requests flagged moreToCome
 * (unacknowledged writes) get no reply and are calls on their own; an exhaust cursor's further replies
 * (responseTo of an earlier reply) have no request and are dropped and counted.
 */
export function stitchMongo(
  requests: MongoFrame[],
  responses: MongoFrame[],
  _state: unknown,
  meta: ConnectionMeta,
): StitchResult {
  const calls: ApiCall[] = [];
  let errors = 0;
  for (let i = 0; i < requests.length; ) {
    const req = requests[i]!;
    if (req.moreToCome || req.opCode === OP.KILL_CURSORS || isLegacyWrite(req.opCode)) {
      calls.push(makeCall(req, undefined, meta));
      requests.splice(i, 1);
    } else i++;
  }
  while (responses.length > 0) {
    const resp = responses.shift()!;
    const i = requests.findIndex((r) => r.requestId === resp.responseTo);
    if (i < 0) {
      errors++;
      continue;
    }
    const [req] = requests.splice(i, 1);
    calls.push(makeCall(req!, resp, meta));
  }
  if (requests.length > MAX_PENDING) errors += requests.splice(0, requests.length - MAX_PENDING).length;
  return { calls, errors };
}

function isLegacyWrite(op: number): boolean {
  return op === OP.INSERT || op === OP.UPDATE || op === OP.DELETE;
}

const LEGACY_NAMES: Record<number, string> = {
  [OP.INSERT]: 'insert',
  [OP.UPDATE]: 'update',
  [OP.DELETE]: 'delete',
  [OP.GET_MORE]: 'getMore',
  [OP.KILL_CURSORS]: 'killCursors',
  [OP.COMPRESSED]: 'compressed',
};

function makeCall(req: MongoFrame, resp: MongoFrame | undefined, meta: ConnectionMeta): ApiCall {
  const failed = resp?.ok === 0 || (resp?.errmsg !== undefined && resp.ok !== 1);
  const attributes: Record<string, string | number | boolean> = { 'mongodb.opcode': req.opCode };
  if (req.db) attributes['db.name'] = req.db;
  if (resp?.errmsg) attributes['error.message'] = resp.errmsg;
  if (req.moreToCome) attributes['mongodb.more_to_come'] = true;
  // A reply read from its first KiB: an `ok` past it is unknown, and the call counts as a success (an
  // error reply is a few fields long; replies this large carry results).
  if (resp?.truncated && resp.ok === undefined) attributes['mongodb.reply_truncated'] = true;
  const compressor = req.compressor ?? resp?.compressor;
  if (compressor !== undefined) attributes['mongodb.compressor'] = compressor;
  const compressError = req.compressError ?? resp?.compressError;
  if (compressError !== undefined) attributes['mongodb.compress_error'] = compressError;
  const resource =
    req.db && req.collection && req.opCode === OP.MSG
      ? `${req.db}.${req.collection}`
      : (req.collection ?? req.db ?? '');
  const call: ApiCall = {
    protocol: 'mongodb',
    role: 'unknown',
    method: req.command ?? LEGACY_NAMES[req.opCode] ?? `op_${req.opCode}`,
    resource,
    status: resp === undefined ? '' : failed ? String(resp.code ?? 'error') : '1',
    error: failed,
    startNs: req.tsNs,
    endNs: resp?.tsNs ?? req.tsNs,
    reqBytes: req.size,
    respBytes: resp?.size ?? 0,
    attributes,
  };
  if (meta.client) call.client = meta.client;
  if (meta.server) call.server = meta.server;
  if (meta.pid !== undefined) call.pid = meta.pid;
  return call;
}
