import type { ApiCall, ConnectionMeta, StitchResult } from '../contract.ts';
import { sqlVerb } from '../postgres/sqlVerb.ts';
import {
  COM,
  COMMAND_NAMES,
  MAX_STATEMENTS,
  type MyFrame,
  type MyState,
  SERVER_MORE_RESULTS_EXISTS,
} from './types.ts';

/**
 * Groups the response packets that answer one command (an OK/ERR, a result set with its column
 * definitions, rows and terminators, a prepare answer with its parameter and column definitions) and
 * emits one call per command that has an answer. COM_QUIT, COM_STMT_CLOSE and COM_STMT_SEND_LONG_DATA
 * have none and make no call. Older responses than the oldest request are dropped and counted.
 */
const MAX_QUEUE = 1 << 16;

type Kind = 'OK' | 'ERR' | 'RESULTSET' | 'EOF' | 'PREPARED' | 'OTHER';
interface Answer {
  /** Number of response packets used. */
  count: number;
  kind: Kind;
  rows: number;
  /** Ended by `releaseCut`: rows and status past the copied bytes are unknown. */
  cut?: boolean;
  err?: MyFrame;
  stmtId?: number;
}

const NO_RESPONSE = new Set<number>([COM.QUIT, COM.STMT_CLOSE, COM.STMT_SEND_LONG_DATA]);

export function stitchMysql(
  requests: MyFrame[],
  responses: MyFrame[],
  state: MyState,
  meta: ConnectionMeta,
): StitchResult {
  const calls: ApiCall[] = [];
  let errors = 0;
  for (;;) {
    while (responses[0]?.greeting) responses.shift();
    const req = requests[0];
    if (req === undefined) break;
    let stale = 0;
    while (stale < responses.length && responses[stale]!.tsNs < req.tsNs) stale++;
    if (stale > 0) {
      responses.splice(0, stale);
      errors++;
    }
    if (req.login) {
      if (req.login.ssl) {
        requests.shift();
        continue;
      }
      state.user = req.login.user;
      if (req.login.database) state.database = req.login.database;
      // Authentication may take several round trips (auth switch, more data): it ends with OK or ERR.
      const end = responses.findIndex((r) => r.seq >= 2 && (r.head[0] === 0x00 || r.head[0] === 0xff));
      if (end < 0) break;
      requests.shift();
      while (requests[0] && requests[0].seq !== 0) requests.shift();
      const resp = responses.splice(0, end + 1);
      state.inLogin = false;
      const last = resp[resp.length - 1]!;
      if (last.head[0] === 0xff) {
        calls.push(
          makeCall(
            'LOGIN',
            state.user ?? '',
            { count: 1, kind: 'ERR', rows: 0, err: last },
            req,
            last,
            req.size,
            sum(resp),
            state,
            meta,
          ),
        );
      }
      continue;
    }
    if (req.seq !== 0 || req.command === undefined) {
      requests.shift(); // auth continuation, LOCAL INFILE data, or the rest of a >16 MB packet
      continue;
    }
    if (NO_RESPONSE.has(req.command)) {
      requests.shift();
      if (req.command === COM.STMT_CLOSE) state.statements.delete(u32le(req.head, 1));
      continue;
    }
    const answer = answerOf(req.command, responses);
    if (answer === undefined) {
      if (responses.length > MAX_QUEUE) errors += responses.splice(0, responses.length).length;
      break;
    }
    requests.shift();
    const resp = responses.splice(0, answer.count);
    if (answer.kind === 'PREPARED' && answer.stmtId !== undefined && req.text !== undefined) {
      if (state.statements.size >= MAX_STATEMENTS)
        state.statements.delete(state.statements.keys().next().value!);
      state.statements.set(answer.stmtId, req.text);
    }
    calls.push(callFor(req, answer, resp, state, meta));
  }
  if (requests.length > MAX_QUEUE) errors += requests.splice(0, requests.length).length;
  return { calls, errors };
}

function callFor(
  req: MyFrame,
  answer: Answer,
  resp: MyFrame[],
  state: MyState,
  meta: ConnectionMeta,
): ApiCall {
  const cmd = req.command!;
  let method = COMMAND_NAMES[cmd] ?? `COM_${cmd}`;
  let resource = '';
  let stmtId: number | undefined;
  if (cmd === COM.QUERY) {
    resource = req.text ?? '';
    method = sqlVerb(resource) || 'QUERY';
  } else if (cmd === COM.STMT_PREPARE) {
    resource = req.text ?? '';
    method = 'PREPARE';
    stmtId = answer.stmtId;
  } else if (cmd === COM.STMT_EXECUTE || cmd === COM.STMT_FETCH || cmd === COM.STMT_RESET) {
    stmtId = u32le(req.head, 1);
    const query = state.statements.get(stmtId);
    resource = query ?? '';
    if (cmd === COM.STMT_EXECUTE) method = (query && sqlVerb(query)) || 'EXECUTE';
  } else if (cmd === COM.INIT_DB) {
    resource = req.text ?? '';
  }
  const call = makeCall(
    method,
    resource,
    answer,
    req,
    resp[resp.length - 1]!,
    req.size,
    sum(resp),
    state,
    meta,
  );
  call.attributes!['db.command'] = COMMAND_NAMES[cmd] ?? String(cmd);
  if (stmtId !== undefined) call.attributes!['db.statement_id'] = stmtId;
  return call;
}

/**
 * The connection ends (a close, or a capture gap restarting it) with an answer begun and not finished: a
 * result set larger than the bytes the capture copied, whose last rows and terminator lay in the part it
 * skipped. A made-up `cut` packet closes it so the command still makes a call, counted as a success (an
 * ERR would have ended the answer within the copied bytes) with `db.response.truncated`.
 */
export function releaseCut(requests: MyFrame[], responses: MyFrame[]): void {
  const req = requests[0];
  const last = responses[responses.length - 1];
  if (req === undefined || last === undefined || req.seq !== 0 || req.command === undefined) return;
  if (NO_RESPONSE.has(req.command) || responses[0]!.tsNs < req.tsNs) return;
  if (measureAnswer(req.command, responses) !== undefined) return;
  responses.push({ tsNs: last.tsNs, size: 0, seq: -1, payloadLen: 0, head: new Uint8Array(0), cut: true });
}

/** measureAnswer, or an answer ended by a made-up `cut` packet (all of the queue). */
function answerOf(command: number, r: MyFrame[]): Answer | undefined {
  if (r[r.length - 1]?.cut !== true) return measureAnswer(command, r);
  return measureAnswer(command, r.slice(0, -1)) ?? { count: r.length, kind: 'RESULTSET', rows: 0, cut: true };
}

/** How many packets answer `command`, or undefined while the answer is incomplete. */
function measureAnswer(command: number, r: MyFrame[]): Answer | undefined {
  const first = r[0];
  if (first === undefined) return undefined;
  const h = first.head[0];
  if (h === 0xff) return { count: 1, kind: 'ERR', rows: 0, err: first };
  switch (command) {
    case COM.QUERY:
    case COM.STMT_EXECUTE:
      return resultSets(r);
    case COM.STMT_FETCH:
      return rowsUntilTerminator(r, 0, 0);
    case COM.STMT_PREPARE: {
      if (h !== 0x00 || first.payloadLen < 12) return { count: 1, kind: 'OTHER', rows: 0 };
      const stmtId = u32le(first.head, 1);
      const columns = u16le(first.head, 5);
      const params = u16le(first.head, 7);
      let i = 1;
      for (const n of [params, columns]) {
        if (n === 0) continue;
        i += n;
        if (i > r.length) return undefined;
        if (i < r.length && isEof(r[i]!)) i++;
        else if (i === r.length) return undefined; // the EOF may still come (unless CLIENT_DEPRECATE_EOF)
      }
      return { count: i, kind: 'PREPARED', rows: 0, stmtId };
    }
    case COM.FIELD_LIST: {
      for (let i = 0; i < r.length; i++)
        if ((r[i]!.head[0] === 0xfe && r[i]!.payloadLen < 9) || r[i]!.head[0] === 0xff)
          return { count: i + 1, kind: 'EOF', rows: 0 };
      return undefined;
    }
    default:
      return { count: 1, kind: h === 0x00 ? 'OK' : h === 0xfe ? 'EOF' : 'OTHER', rows: 0 };
  }
}

/** One or more result sets (SERVER_MORE_RESULTS_EXISTS chains them), or a plain OK. */
function resultSets(r: MyFrame[]): Answer | undefined {
  let i = 0;
  let rows = 0;
  let kind: Kind = 'OK';
  for (;;) {
    const f = r[i];
    if (f === undefined) return undefined;
    const h = f.head[0]!;
    if (h === 0xff) return { count: i + 1, kind: 'ERR', rows, err: f };
    if (h === 0x00 && f.payloadLen >= 7) {
      if (!moreResults(f)) return { count: i + 1, kind, rows };
      i++;
      continue;
    }
    if (h === 0xfb) {
      // LOCAL INFILE: the client streams the file, the server answers OK or ERR.
      const next = r[i + 1];
      if (next === undefined) return undefined;
      return {
        count: i + 2,
        kind: next.head[0] === 0xff ? 'ERR' : 'OK',
        rows,
        err: next.head[0] === 0xff ? next : undefined,
      };
    }
    const columns = lenenc(f.head, 0);
    if (columns === undefined || columns === 0) return { count: i + 1, kind: 'OTHER', rows };
    kind = 'RESULTSET';
    i += 1 + columns;
    if (i >= r.length) return undefined;
    if (isEof(r[i]!)) i++; // the column block's EOF, absent with CLIENT_DEPRECATE_EOF
    const end = rowsUntilTerminator(r, i, rows);
    if (end === undefined) return undefined;
    if (end.kind === 'ERR') return end;
    rows = end.rows;
    const term = r[end.count - 1]!;
    i = end.count;
    if (!moreResults(term)) return { count: i, kind, rows };
  }
}

/** Rows from `start` up to the 0xFE terminator (EOF or OK) or an ERR. */
function rowsUntilTerminator(r: MyFrame[], start: number, rows: number): Answer | undefined {
  for (let i = start; i < r.length; i++) {
    const f = r[i]!;
    const h = f.head[0];
    if (i > start && r[i - 1]!.continued) continue;
    if (h === 0xfe && f.payloadLen < 0xffffff && (f.payloadLen < 9 || !f.continued))
      return { count: i + 1, kind: 'RESULTSET', rows };
    if (h === 0xff) return { count: i + 1, kind: 'ERR', rows, err: f };
    rows++;
  }
  return undefined;
}

/**
 * The EOF that ends a block of column definitions: exactly 5 bytes since protocol 4.1. With
 * CLIENT_DEPRECATE_EOF there is none, and an OK terminator (0xFE, at least 7 bytes) may follow directly.
 */
function isEof(f: MyFrame): boolean {
  return f.head[0] === 0xfe && f.payloadLen === 5;
}

/** SERVER_MORE_RESULTS_EXISTS in an EOF (status at bytes 3..4) or an OK packet (after two lenenc ints). */
function moreResults(f: MyFrame): boolean {
  let status: number | undefined;
  if (f.head[0] === 0xfe && f.payloadLen < 9) {
    status = f.payloadLen >= 5 ? u16le(f.head, 3) : 0;
  } else {
    let i = 1;
    const a = lenencSize(f.head, i);
    i += a;
    const b = lenencSize(f.head, i);
    i += b;
    if (i + 2 <= f.head.length) status = u16le(f.head, i);
  }
  return status !== undefined && (status & SERVER_MORE_RESULTS_EXISTS) !== 0;
}

function lenencSize(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === undefined) return 1;
  return c < 0xfb ? 1 : c === 0xfc ? 3 : c === 0xfd ? 4 : c === 0xfe ? 9 : 1;
}

function lenenc(b: Uint8Array, i: number): number | undefined {
  const c = b[i];
  if (c === undefined || c === 0xfb || c === 0xff) return undefined;
  if (c < 0xfb) return c;
  if (c === 0xfc) return u16le(b, i + 1);
  if (c === 0xfd) return b[i + 1]! | (b[i + 2]! << 8) | (b[i + 3]! << 16);
  return undefined; // 8-byte column counts are not real
}

const u16le = (b: Uint8Array, i: number) => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
const u32le = (b: Uint8Array, i: number) => (u16le(b, i) | (u16le(b, i + 2) << 16)) >>> 0;

function sum(frames: MyFrame[]): number {
  let n = 0;
  for (const f of frames) n += f.size;
  return n;
}

function makeCall(
  method: string,
  resource: string,
  answer: Answer,
  start: MyFrame,
  end: MyFrame,
  reqBytes: number,
  respBytes: number,
  state: MyState,
  meta: ConnectionMeta,
): ApiCall {
  const attributes: Record<string, string | number | boolean> = { 'db.response': answer.kind };
  if (answer.cut) attributes['db.response.truncated'] = true;
  else if (answer.kind === 'RESULTSET') attributes['db.rows'] = answer.rows;
  if (answer.err?.sqlState) attributes['db.sqlstate'] = answer.err.sqlState;
  if (answer.err?.text) attributes['error.message'] = answer.err.text;
  if (state.database) attributes['db.name'] = state.database;
  if (state.user) attributes['db.user'] = state.user;
  const call: ApiCall = {
    protocol: 'mysql',
    role: 'unknown',
    method,
    resource,
    status: answer.err ? String(answer.err.errorCode ?? 'ERR') : '0',
    error: answer.err !== undefined,
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
