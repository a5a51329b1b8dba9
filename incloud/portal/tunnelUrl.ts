import { TUNNEL_CONNECT_PATH } from '../../lib/tunnel/index.ts';

/** `http(s)://edge[/prefix]` -> `ws(s)://edge[/prefix]/api/v1/tunnel/connect`. */
export function tunnelUrl(edgeUrl: string): string {
  let u: URL;
  try {
    u = new URL(edgeUrl);
  } catch {
    throw new Error(`cannot use edge URL ${JSON.stringify(edgeUrl)}: not a URL`);
  }
  const scheme = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' }[u.protocol];
  if (!scheme) throw new Error(`cannot use edge URL ${edgeUrl}: scheme must be http, https, ws or wss`);
  if (u.search || u.hash || u.username)
    throw new Error(`cannot use edge URL ${edgeUrl}: no query, fragment or user`);
  u.protocol = scheme;
  u.pathname = u.pathname.replace(/\/+$/, '') + TUNNEL_CONNECT_PATH;
  return u.toString();
}
