/**
 * A span's attributes sorted into what the detail panel shows: request and response headers and bodies (as the
 * sensor truncated and redacted them), the call's key facts, and everything else. The portal already splits
 * `http.request.header.*`; the sensor names non-HTTP headers `understory.request.header.*`, which arrive among
 * the attributes, so the split is done again here over both.
 */
export interface SpanParts {
  requestHeaders: [string, string][];
  responseHeaders: [string, string][];
  requestBody: string | null;
  responseBody: string | null;
  otherBodies: [string, string][];
  attributes: [string, string][];
}

const REQUEST_HEADER = /^(?:http|understory)\.request\.header\.(.+)$/;
const RESPONSE_HEADER = /^(?:http|understory)\.response\.header\.(.+)$/;
const BODY = /(^|\.)body(\.|$)/;

export function splitSpan(s: {
  attributes: Record<string, string>;
  headers: Record<string, string>;
  bodies: Record<string, string>;
}): SpanParts {
  const parts: SpanParts = {
    requestHeaders: [],
    responseHeaders: [],
    requestBody: null,
    responseBody: null,
    otherBodies: [],
    attributes: [],
  };
  const all = { ...s.attributes, ...s.headers, ...s.bodies };
  for (const [key, value] of Object.entries(all).sort(([a], [b]) => a.localeCompare(b))) {
    const req = REQUEST_HEADER.exec(key);
    const resp = RESPONSE_HEADER.exec(key);
    if (req) parts.requestHeaders.push([req[1]!, headerValue(value)]);
    else if (resp) parts.responseHeaders.push([resp[1]!, headerValue(value)]);
    else if (BODY.test(key)) {
      if (/request/.test(key) && parts.requestBody === null) parts.requestBody = value;
      else if (/response/.test(key) && parts.responseBody === null) parts.responseBody = value;
      else parts.otherBodies.push([key, value]);
    } else parts.attributes.push([key, value]);
  }
  return parts;
}

/** The semantic conventions make header values string arrays; the collector stores them as JSON text. */
export function headerValue(v: string): string {
  if (!v.startsWith('[')) return v;
  try {
    const arr = JSON.parse(v) as unknown;
    if (Array.isArray(arr) && arr.every((x) => typeof x === 'string')) return arr.join(', ');
  } catch {
    // not JSON: show as stored
  }
  return v;
}

/** Values the sensor's redaction replaced (sensor/pipeline/redaction.ts writes `[REDACTED]`). */
export function isRedacted(v: string): boolean {
  return v.includes('[REDACTED]');
}

/** JSON bodies indented for reading; anything else (or anything cut short by the sensor) unchanged. */
export function prettyBody(body: string): { text: string; json: boolean } {
  const t = body.trim();
  if ((t.startsWith('{') || t.startsWith('[')) && t.length < 200_000) {
    try {
      return { text: JSON.stringify(JSON.parse(t), null, 2), json: true };
    } catch {
      // truncated or not JSON
    }
  }
  return { text: body, json: false };
}

/** The attributes that say what the call was, shown first: method, route, status, peer, database statement. */
export const KEY_ATTRIBUTES = [
  'http.request.method',
  'http.route',
  'url.path',
  'url.query',
  'http.response.status_code',
  'rpc.service',
  'rpc.method',
  'rpc.grpc.status_code',
  'db.system.name',
  'db.query.text',
  'db.response.status_code',
  'messaging.system',
  'messaging.destination.name',
  'dns.question.name',
  'peer.service',
  'server.address',
  'server.port',
  'understory.protocol',
  'understory.sample.reason',
];
