/** A small HTTP client for the worker under test: requests go through the real fetch handler in workerd. */
import { exports } from 'cloudflare:workers';

export const ORIGIN = 'https://edge.test';

/** A signed-in browser: its session cookie and the session's CSRF token. */
export type Browser = { cookie: string; csrf: string; userId: string; email: string };

export type CallOptions = {
  as?: Browser | null;
  token?: string;
  body?: unknown;
  /** Leave out the CSRF header even for a browser. */
  noCsrf?: boolean;
  headers?: Record<string, string>;
};

export async function call(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const headers = new Headers(opts.headers);
  if (opts.as) {
    headers.set('cookie', opts.as.cookie);
    if (!opts.noCsrf) headers.set('x-csrf-token', opts.as.csrf);
  }
  if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(opts.body);
  }
  return exports.default.fetch(new Request(ORIGIN + path, { method, headers, body, redirect: 'manual' }));
}

export async function callJson<T = Record<string, unknown>>(
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<{ status: number; body: T; res: Response }> {
  const res = await call(method, path, opts);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, res };
}

/** `name=value` of the Set-Cookie named `name`, or null. */
export function cookieFrom(res: Response, name: string): string | null {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    if (pair?.startsWith(`${name}=`)) return pair;
  }
  return null;
}

let counter = 0;
/** A name nobody else in this test run uses (test files may share storage). */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 6)}`;
}
