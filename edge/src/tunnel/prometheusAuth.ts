/**
 * Credentials on the per-cluster Prometheus base URL. Grafana sends `Authorization: Bearer <API token>`;
 * promtool can only send basic auth (`http://user:TOKEN@host/...`), so there the password is taken as the API
 * token (the user name is ignored). Basic auth is accepted on these paths only, and only ever as an API token:
 * it is never a password login.
 */
const PROMETHEUS_PATH = /^\/api\/orgs\/[^/]+\/clusters\/[^/]+\/prometheus\//;

/** The API token in an Authorization header, or null when there is none usable for `path`. */
export function apiTokenFromAuthorization(authorization: string, path: string): string | null {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (bearer?.[1]) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]{1,1024})$/i.exec(authorization);
  if (!basic?.[1] || !PROMETHEUS_PATH.test(path)) return null;
  let decoded: string;
  try {
    decoded = atob(basic[1]);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(':');
  const password = colon >= 0 ? decoded.slice(colon + 1) : '';
  return password.length > 0 ? password : null;
}
