import type { ApiCall, ConnectionMeta, StitchResult } from '../contract.ts';
import { sqlVerb } from './sqlVerb.ts';
import { MAX_STATEMENTS, MSG, type PgFrame, type PgState } from './types.ts';

/**
 * Pairs PostgreSQL messages into calls:
 * - a simple Query (or FunctionCall) with the backend messages up to ReadyForQuery: one call;
 * - an extended-query batch (Parse/Bind/Describe/Execute/Close ... Sync) with the backend messages up to
 *   ReadyForQuery: one call per completed Execute (CommandComplete, EmptyQuery, PortalSuspended or an error);
 * - the startup phase and password exchange make a call only when login fails.
 * A response older than the oldest request cannot answer it (the capture started mid-conversation): it is
 * dropped and counted.
 */
const SUCCESS = '00000';
const MAX_QUEUE = 4096;

export function stitchPostgres(
  requests: PgFrame[],
  responses: PgFrame[],
  state: PgState,
  meta: ConnectionMeta,
): StitchResult {
  const calls: ApiCall[] = [];
  let errors = 0;
  for (;;) {
    const req = requests[0];
    if (req === undefined) break;
    // Drop responses that predate the request (their request was never seen).
    let stale = 0;
    while (stale < responses.length && responses[stale]!.tsNs < req.tsNs) stale++;
    if (stale > 0) {
      responses.splice(0, stale);
      errors++;
    }
    if (req.tag === 0) {
      if (!stitchUntyped(req, requests, responses, state, meta, calls)) break;
      continue;
    }
    if (req.tag === MSG.Terminate || req.tag === MSG.Password || req.tag === MSG.Flush) {
      requests.shift();
      continue;
    }
    // A ReadyForQuery left over from a call that an ErrorResponse already completed.
    if (state.skipReadyForQuery && responses[0]?.tag === MSG.ReadyForQuery) {
      responses.shift();
      state.skipReadyForQuery = false;
    }
    const zi = responses.findIndex((r) => r.tag === MSG.ReadyForQuery);
    if (req.tag === MSG.Query || req.tag === MSG.FunctionCall || isCopyMessage(req.tag)) {
      // An error ends a simple query (the backend skips the rest of a multi-statement string), so the
      // call completes even if ReadyForQuery is not seen yet.
      const ei = responses.findIndex((r) => r.tag === MSG.ErrorResponse);
      if (ei >= 0 && (zi < 0 || ei < zi) && !isCopyMessage(req.tag)) {
        requests.shift();
        const resp = responses.splice(0, ei + 1);
        if (responses[0]?.tag === MSG.ReadyForQuery) responses.shift();
        else state.skipReadyForQuery = true;
        calls.push(simpleCall(req, resp, state, meta));
        continue;
      }
      if (zi < 0) break;
      requests.shift();
      const resp = responses.splice(0, zi + 1);
      if (isCopyMessage(req.tag)) continue; // COPY data belongs to the Query already answered
      calls.push(simpleCall(req, resp, state, meta));
      // COPY FROM STDIN data sent before ReadyForQuery belongs to this call.
      const end = resp[resp.length - 1]!.tsNs;
      while (requests[0] && isCopyMessage(requests[0].tag) && requests[0].tsNs <= end) requests.shift();
      continue;
    }
    // Extended query: wait for the Sync that closes the batch and the ReadyForQuery that answers it.
    const si = requests.findIndex((r) => r.tag === MSG.Sync);
    if (si < 0 || zi < 0) {
      if (requests.length > MAX_QUEUE) errors += requests.splice(0, requests.length).length;
      break;
    }
    const batch = requests.splice(0, si + 1);
    const resp = responses.splice(0, zi + 1);
    errors += stitchBatch(batch, resp, state, meta, calls);
  }
  if (responses.length > MAX_QUEUE) errors += responses.splice(0, responses.length).length;
  return { calls, errors };
}

/**
 * The connection ends (a close, or a capture gap restarting it) with an answer begun and not finished: a
 * result larger than the bytes the capture copied, whose CommandComplete and ReadyForQuery were in the part
 * it skipped. The answer is closed with a made-up completion (`cut`) so its query still makes a call; the
 * call counts as a success (an error would have ended the answer early, within the copied bytes) and
 * carries `db.response.truncated`.
 */
export function releaseCut(requests: PgFrame[], responses: PgFrame[]): void {
  const first = requests[0];
  const last = responses[responses.length - 1];
  if (first === undefined || last === undefined || first.tag === 0) return;
  if (responses.some((r) => r.tag === MSG.ReadyForQuery || r.tag === MSG.ErrorResponse)) return;
  if (responses[0]!.tsNs < first.tsNs) return;
  const simple = first.tag === MSG.Query;
  if (!simple && !requests.some((r) => r.tag === MSG.Sync)) return;
  const at = { tsNs: last.tsNs, size: 0, cut: true };
  if (last.tag !== MSG.CommandComplete) responses.push({ ...at, tag: MSG.CommandComplete });
  responses.push({ ...at, tag: MSG.ReadyForQuery });
}

function isCopyMessage(tag: number): boolean {
  return tag === MSG.CopyData || tag === MSG.CopyDone || tag === MSG.CopyFail;
}

/** Startup, SSL and cancel requests. Returns false when it must wait for more responses. */
function stitchUntyped(
  req: PgFrame,
  requests: PgFrame[],
  responses: PgFrame[],
  state: PgState,
  meta: ConnectionMeta,
  calls: ApiCall[],
): boolean {
  if (req.untyped === 'cancel') {
    requests.shift();
    return true;
  }
  if (req.untyped === 'ssl-request' || req.untyped === 'gss-request') {
    // The one-letter answer may not have been parsed yet: wait for it, unless something else came first.
    if (responses.length === 0) return false;
    if (responses[0]!.untyped === 'ssl-answer') responses.shift();
    requests.shift();
    return true;
  }
  // Startup: the backend answers with authentication requests, then ReadyForQuery or an error.
  state.user = req.params?.user;
  state.database = req.params?.database ?? state.user;
  const end = responses.findIndex((r) => r.tag === MSG.ReadyForQuery || r.tag === MSG.ErrorResponse);
  if (end < 0) return false;
  const resp = responses.splice(0, end + 1);
  requests.shift();
  while (requests[0]?.tag === MSG.Password) requests.shift();
  const last = resp[resp.length - 1]!;
  if (last.tag === MSG.ErrorResponse) {
    calls.push(
      makeCall('LOGIN', state.user ?? '', last, req, last, sizeOf([req]), sizeOf(resp), [], state, meta),
    );
  }
  return true;
}

function simpleCall(req: PgFrame, resp: PgFrame[], state: PgState, meta: ConnectionMeta): ApiCall {
  const query = req.text ?? '';
  const err = resp.find((r) => r.tag === MSG.ErrorResponse);
  const tags = resp.filter((r) => r.tag === MSG.CommandComplete && !r.cut).map((r) => r.text ?? '');
  const method = req.tag === MSG.FunctionCall ? 'FUNCTION CALL' : sqlVerb(query) || 'QUERY';
  const last = resp[resp.length - 1]!;
  const call = makeCall(method, query, err, req, last, req.size, sizeOf(resp), tags, state, meta);
  if (last.cut) call.attributes!['db.response.truncated'] = true;
  return call;
}

/** Pairs one Sync-terminated batch. Returns the number of frames that made no sense together. */
function stitchBatch(
  batch: PgFrame[],
  resp: PgFrame[],
  state: PgState,
  meta: ConnectionMeta,
  calls: ApiCall[],
): number {
  // Executes in order, each with the statement its portal was bound to at that point of the batch.
  const executes: { frame: PgFrame; stmt: string; query: string | undefined }[] = [];
  let lastParse: PgFrame | undefined;
  for (const f of batch) {
    if (f.tag === MSG.Parse) {
      remember(state.statements, f.name ?? '', f.text ?? '');
      lastParse = f;
    } else if (f.tag === MSG.Bind) {
      remember(state.portals, f.portal ?? '', f.name ?? '');
    } else if (f.tag === MSG.Execute) {
      const stmt = state.portals.get(f.name ?? '') ?? '';
      executes.push({ frame: f, stmt, query: state.statements.get(stmt) });
    } else if (f.tag === MSG.Close && f.name?.startsWith('S')) {
      // Closing a statement: forget it after the batch (a later Execute in this batch cannot use it).
    }
  }
  const reqBytes = sizeOf(batch);
  const respBytes = sizeOf(resp);
  let next = 0;
  let produced = 0;
  for (let i = 0; i < resp.length; i++) {
    const r = resp[i]!;
    const done =
      r.tag === MSG.CommandComplete ||
      r.tag === MSG.EmptyQueryResponse ||
      r.tag === MSG.PortalSuspended ||
      r.tag === MSG.ErrorResponse;
    if (!done) continue;
    const exec = executes[next++];
    // Without an Execute (e.g. a capture that lost it), the statement parsed in this batch is the best guess.
    const query = exec?.query ?? (exec === undefined ? lastParse?.text : undefined);
    const resource = query ?? exec?.stmt ?? '';
    const method = query !== undefined ? sqlVerb(query) || 'QUERY' : 'EXECUTE';
    const start = exec?.frame ?? batch[0]!;
    const err = r.tag === MSG.ErrorResponse ? r : undefined;
    const tags = r.tag === MSG.CommandComplete && !r.cut ? [r.text ?? ''] : [];
    const call = makeCall(method, resource, err, start, r, 0, 0, tags, state, meta);
    if (exec?.stmt) call.attributes!['db.statement_name'] = exec.stmt;
    if (r.cut) call.attributes!['db.response.truncated'] = true;
    calls.push(call);
    produced++;
    // After an error the backend skips everything up to Sync: no more results in this batch.
    if (err) break;
  }
  // Sizes of a batch are shared by its calls: attribute them to the first one to keep sums right.
  const first = calls[calls.length - produced];
  if (first) {
    first.reqBytes = reqBytes;
    first.respBytes = respBytes;
  }
  for (const f of batch) {
    if (f.tag === MSG.Close && f.name?.startsWith('S')) state.statements.delete(f.name.slice(1));
  }
  return produced === 0 && executes.length > 0 ? 1 : 0;
}

function remember(map: Map<string, string>, key: string, value: string): void {
  if (!map.has(key) && map.size >= MAX_STATEMENTS) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, value);
}

function sizeOf(frames: PgFrame[]): number {
  let n = 0;
  for (const f of frames) n += f.size;
  return n;
}

function makeCall(
  method: string,
  resource: string,
  err: PgFrame | undefined,
  start: PgFrame,
  end: PgFrame,
  reqBytes: number,
  respBytes: number,
  tags: string[],
  state: PgState,
  meta: ConnectionMeta,
): ApiCall {
  const attributes: Record<string, string | number | boolean> = {};
  if (tags.length > 0) attributes['db.command_tag'] = tags.join(';');
  if (state.database) attributes['db.name'] = state.database;
  if (state.user) attributes['db.user'] = state.user;
  if (err?.text) attributes['error.message'] = err.text;
  const call: ApiCall = {
    protocol: 'postgres',
    role: 'unknown',
    method,
    resource,
    status: err ? (err.code ?? 'ERROR') : SUCCESS,
    error: err !== undefined,
    startNs: start.tsNs,
    endNs: end.tsNs,
    reqBytes,
    respBytes,
    attributes,
  };
  if (meta.client) call.client = meta.client;
  if (meta.server) call.server = meta.server;
  if (meta.pid !== undefined) call.pid = meta.pid;
  return call;
}
