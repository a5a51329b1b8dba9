import type { ApiCall, ConnectionMeta, StitchResult, Unfinished } from '../contract.ts';
import type { RedisFrame, RedisState } from './types.ts';

/**
 * Pairs commands with replies in order (pipelining keeps order). Pub/sub needs care:
 * - SUBSCRIBE a b c is answered by one confirmation per channel; UNSUBSCRIBE without channels by one per
 *   subscribed channel, the last with a count of 0;
 * - messages on subscribed channels arrive unasked: RESP3 sends them as pushes (`>`), RESP2 as arrays
 *   starting with `message`/`pmessage`/`smessage` while subscribed. Each becomes its own call (method
 *   MESSAGE, resource = channel) with no request.
 */
const PUSH = 0x3e;
const ERROR = 0x2d;
const BLOB_ERROR = 0x21;
const MAX_QUEUE = 1 << 16;
/** Commands whose arguments are secrets: never copied into the resource. */
const SECRET = new Set(['AUTH', 'HELLO', 'MIGRATE', 'ACL']);
const SUBSCRIBE = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE']);
const UNSUBSCRIBE = new Set(['UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE']);
const MESSAGE_KINDS = new Set(['message', 'pmessage', 'smessage']);
const CONFIRM_KINDS = new Set([
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
]);

export function stitchRedis(
  requests: RedisFrame[],
  responses: RedisFrame[],
  state: RedisState,
  meta: ConnectionMeta,
): StitchResult {
  const calls: ApiCall[] = [];
  let errors = 0;
  const i = 0;
  while (i < responses.length) {
    const r = responses[i]!;
    if (isMessage(r, state)) {
      calls.push(pushCall(r, meta));
      responses.splice(i, 1);
      continue;
    }
    const req = requests[0];
    if (req === undefined) {
      // A reply to a command we never saw (capture or sensor started mid-conversation).
      if (r.type === PUSH || (r.text !== undefined && CONFIRM_KINDS.has(r.text))) trackCount(r, state);
      responses.splice(i, 1);
      errors++;
      continue;
    }
    const cmd = req.command ?? '';
    if (SUBSCRIBE.has(cmd) || UNSUBSCRIBE.has(cmd)) {
      // Gather this command's confirmations; RESP3 sends them as pushes.
      const expected = Math.max(1, (req.argc ?? 1) - 1);
      const confirms: RedisFrame[] = [];
      let j = i;
      let done = false;
      while (j < responses.length) {
        const c = responses[j]!;
        if (c.type === ERROR || c.type === BLOB_ERROR) {
          confirms.push(c);
          done = true;
          j++;
          break;
        }
        if (c.text === undefined || !CONFIRM_KINDS.has(c.text)) break;
        confirms.push(c);
        trackCount(c, state);
        j++;
        const noArgs = UNSUBSCRIBE.has(cmd) && (req.argc ?? 1) <= 1;
        if ((noArgs && (c.third ?? 0) === 0) || (!noArgs && confirms.length >= expected)) {
          done = true;
          break;
        }
      }
      if (!done) break;
      responses.splice(i, j - i);
      requests.shift();
      calls.push(makeCall(req, confirms, meta));
      continue;
    }
    responses.splice(i, 1);
    requests.shift();
    calls.push(makeCall(req, [r], meta));
  }
  if (requests.length > MAX_QUEUE) errors += requests.splice(0, requests.length).length;
  return { calls, errors };
}

function isMessage(r: RedisFrame, state: RedisState): boolean {
  if (r.text === undefined || !MESSAGE_KINDS.has(r.text)) return false;
  return r.type === PUSH || (r.type === 0x2a && state.subscriptions > 0);
}

function trackCount(r: RedisFrame, state: RedisState): void {
  if (r.third !== undefined && Number.isFinite(r.third)) state.subscriptions = r.third;
}

/** RESP types a reply larger than the copied prefix can start with (errors are a line, never that long). */
const LONG_REPLIES = new Set([0x24, 0x2a, 0x25, 0x7e, 0x3d, 0x7c]); // $ * % ~ = |

/**
 * The connection ends (a close, or a capture gap restarting it) while a reply is being assembled: one larger
 * than the bytes the capture copied (a GET of a big value, a long LRANGE). A made-up `cut` reply takes its
 * place so the command waiting for it still makes a call, a success with `db.response.truncated`.
 */
export function releaseCut(
  requests: RedisFrame[],
  responses: RedisFrame[],
  _state: RedisState,
  unfinished?: Unfinished,
): void {
  const partial = unfinished?.response;
  if (partial === undefined || !LONG_REPLIES.has(partial.head[0]!)) return;
  // It answers the oldest command still waiting, which must have gone out before it.
  if (requests.length === 0 || requests[0]!.tsNs > partial.tsNs) return;
  responses.push({ tsNs: partial.tsNs, size: partial.bytes, type: partial.head[0]!, cut: true });
}

function makeCall(req: RedisFrame, replies: RedisFrame[], meta: ConnectionMeta): ApiCall {
  const last = replies[replies.length - 1]!;
  const err = replies.find((r) => r.type === ERROR || r.type === BLOB_ERROR);
  const cmd = req.command ?? '';
  const attributes: Record<string, string | number | boolean> = {};
  if (err?.text) attributes['error.message'] = err.text;
  if (last.cut) attributes['db.response.truncated'] = true;
  let respBytes = 0;
  for (const r of replies) respBytes += r.size;
  return withMeta(
    {
      protocol: 'redis',
      role: 'unknown',
      method: cmd,
      resource: SECRET.has(cmd) ? '' : (req.arg1 ?? ''),
      status: err ? errorPrefix(err.text ?? '') : 'OK',
      error: err !== undefined,
      startNs: req.tsNs,
      endNs: last.tsNs,
      reqBytes: req.size,
      respBytes,
      attributes,
    },
    meta,
  );
}

function pushCall(r: RedisFrame, meta: ConnectionMeta): ApiCall {
  return withMeta(
    {
      protocol: 'redis',
      role: 'unknown',
      method: (r.text ?? 'message').toUpperCase(),
      resource: r.second ?? '',
      status: 'OK',
      error: false,
      startNs: r.tsNs,
      endNs: r.tsNs,
      reqBytes: 0,
      respBytes: r.size,
      attributes: { 'redis.push': true },
    },
    meta,
  );
}

/** The error code: the first word of an error reply when it is upper case (`ERR`, `WRONGTYPE`, `NOAUTH`). */
function errorPrefix(text: string): string {
  const sp = text.indexOf(' ');
  const word = sp < 0 ? text : text.slice(0, sp);
  return /^[A-Z][A-Z_]{1,31}$/.test(word) ? word : 'ERR';
}

function withMeta(call: ApiCall, meta: ConnectionMeta): ApiCall {
  if (meta.client) call.client = meta.client;
  if (meta.server) call.server = meta.server;
  if (meta.pid !== undefined) call.pid = meta.pid;
  return call;
}
