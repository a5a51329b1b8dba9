/**
 * The edge API client. Sessions are an HttpOnly cookie the browser sends by itself; changes must also carry
 * the session's CSRF token in `X-CSRF-Token` (edge/README.md, "CSRF"). The token comes from sign-in, sign-up
 * and GET /api/me and lives only in memory here.
 */
export interface User {
  id: string;
  email: string;
  name: string;
}
export interface OrgRef {
  id: string;
  slug: string;
  name: string;
  role: string;
}
export interface Me {
  user: User;
  csrfToken: string;
  orgs: OrgRef[];
}
export interface Cluster {
  id: string;
  name: string;
  status: 'pending' | 'connected' | 'disconnected';
  lastSeenAt: number | null;
  installTokenPrefix: string;
  installTokenIssuedAt: number;
  createdAt: number;
}
export interface ClusterWithToken extends Cluster {
  installToken: string;
  commands: { helm: string; local: string };
}
export interface ApiToken {
  id: string;
  name: string;
  kind: 'personal' | 'service';
  displayPrefix: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}
export interface CreatedToken extends ApiToken {
  token: string;
}

export interface Member {
  userId: string;
  email: string;
  name: string;
  role: string;
  createdAt: number;
}
export interface Invitation {
  id: string;
  email: string;
  role: string;
  createdAt: number;
  expiresAt: number;
  acceptedAt: number | null;
}

/** An answer other than 2xx, with the API's `{error: {code, message}}` shape when it has one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/**
 * One call of the edge's API. `timeoutMs` gives up on an answer that takes longer (ApiError code `timeout`):
 * for callers that poll and would rather ask again than wait for the edge's own deadline (32 s for cluster
 * queries) when an answer is lost on the way.
 */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const signal = opts.timeoutMs === undefined ? null : AbortSignal.timeout(opts.timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? null : JSON.stringify(body),
      signal,
    });
    text = await res.text();
  } catch (err) {
    if (signal?.aborted)
      throw new ApiError(0, 'timeout', `no answer from the server within ${opts.timeoutMs! / 1000} s`);
    throw new ApiError(0, 'network', `cannot reach the server: ${(err as Error).message}`);
  }
  const data = text ? safeJson(text) : null;
  if (!res.ok) {
    // The edge's `{error: {code, message}}`, or Prometheus' `{status: 'error', errorType, error: '...'}`.
    const body = data as { error?: { code?: string; message?: string } | string; errorType?: string } | null;
    const e = body?.error;
    if (typeof e === 'string') throw new ApiError(res.status, body?.errorType ?? 'prometheus_error', e);
    throw new ApiError(res.status, e?.code ?? 'http_error', e?.message ?? `request failed (${res.status})`);
  }
  return data as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export const endpoints = {
  me: () => api<Me>('GET', '/api/me'),
  signup: (b: { email: string; password: string; name: string }) =>
    api<{ user: User; csrfToken: string }>('POST', '/api/auth/signup', b),
  login: (b: { email: string; password: string }) =>
    api<{ user: User; csrfToken: string }>('POST', '/api/auth/login', b),
  logout: () => api<{ ok: true }>('POST', '/api/auth/logout'),
  createOrg: (b: { name: string; slug: string }) => api<OrgRef>('POST', '/api/orgs', b),
  clusters: (orgId: string) =>
    api<{ clusters: Cluster[] }>('GET', `/api/orgs/${encodeURIComponent(orgId)}/clusters`),
  createCluster: (orgId: string, name: string) =>
    api<ClusterWithToken>('POST', `/api/orgs/${encodeURIComponent(orgId)}/clusters`, { name }),
  rotateInstallToken: (orgId: string, clusterId: string) =>
    api<ClusterWithToken>(
      'POST',
      `/api/orgs/${encodeURIComponent(orgId)}/clusters/${encodeURIComponent(clusterId)}/install-token`,
    ),
  deleteCluster: (orgId: string, clusterId: string) =>
    api<{ ok: true }>(
      'DELETE',
      `/api/orgs/${encodeURIComponent(orgId)}/clusters/${encodeURIComponent(clusterId)}`,
    ),
  members: (orgId: string) =>
    api<{ members: Member[] }>('GET', `/api/orgs/${encodeURIComponent(orgId)}/members`),
  setMemberRole: (orgId: string, userId: string, role: string) =>
    api<{ ok: true }>(
      'PATCH',
      `/api/orgs/${encodeURIComponent(orgId)}/members/${encodeURIComponent(userId)}`,
      { role },
    ),
  removeMember: (orgId: string, userId: string) =>
    api<{ ok: true }>(
      'DELETE',
      `/api/orgs/${encodeURIComponent(orgId)}/members/${encodeURIComponent(userId)}`,
    ),
  invitations: (orgId: string) =>
    api<{ invitations: Invitation[] }>('GET', `/api/orgs/${encodeURIComponent(orgId)}/invitations`),
  invite: (orgId: string, b: { email: string; role: string }) =>
    api<Invitation & { token: string }>('POST', `/api/orgs/${encodeURIComponent(orgId)}/invitations`, b),
  cancelInvitation: (orgId: string, invitationId: string) =>
    api<{ ok: true }>(
      'DELETE',
      `/api/orgs/${encodeURIComponent(orgId)}/invitations/${encodeURIComponent(invitationId)}`,
    ),
  acceptInvitation: (token: string) =>
    api<{ orgId: string; role: string }>('POST', '/api/invitations/accept', { token }),
  tokens: (orgId: string) =>
    api<{ tokens: ApiToken[] }>('GET', `/api/orgs/${encodeURIComponent(orgId)}/tokens`),
  createToken: (orgId: string, b: { name: string; scopes: string[]; expiresInDays?: number }) =>
    api<CreatedToken>('POST', `/api/orgs/${encodeURIComponent(orgId)}/tokens`, b),
  revokeToken: (orgId: string, tokenId: string) =>
    api<{ ok: true }>(
      'DELETE',
      `/api/orgs/${encodeURIComponent(orgId)}/tokens/${encodeURIComponent(tokenId)}`,
    ),
};

export interface ServiceAccount {
  id: string;
  name: string;
  createdAt: number;
  createdBy: string;
}
export interface AuditEntry {
  id: number;
  actor: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: string;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
  createdAt: number;
}
export interface AuditFilter {
  action?: string;
  actor?: string;
  outcome?: string;
  before?: number;
  limit?: number;
}
export interface SsoDomain {
  domain: string;
  verified: boolean;
  record: { type: 'TXT'; name: string; value: string };
}
export interface SsoSettings {
  config: {
    issuer: string;
    clientId: string;
    hasClientSecret: boolean;
    defaultRole: string;
    enabled: boolean;
  } | null;
  domains: SsoDomain[];
}
export interface SsoConfigInput {
  issuer: string;
  clientId: string;
  clientSecret?: string | null;
  defaultRole: string;
  enabled: boolean;
}

const org = (orgId: string) => `/api/orgs/${encodeURIComponent(orgId)}`;
const sa = (orgId: string, id: string) => `${org(orgId)}/service-accounts/${encodeURIComponent(id)}`;

/** Admin areas: service accounts and their tokens, the audit log, SSO settings. */
export const adminEndpoints = {
  serviceAccounts: (orgId: string) =>
    api<{ serviceAccounts: ServiceAccount[] }>('GET', `${org(orgId)}/service-accounts`),
  createServiceAccount: (orgId: string, name: string) =>
    api<ServiceAccount>('POST', `${org(orgId)}/service-accounts`, { name }),
  deleteServiceAccount: (orgId: string, id: string) => api<{ ok: true }>('DELETE', sa(orgId, id)),
  serviceAccountTokens: (orgId: string, id: string) =>
    api<{ tokens: ApiToken[] }>('GET', `${sa(orgId, id)}/tokens`),
  createServiceAccountToken: (
    orgId: string,
    id: string,
    b: { name: string; scopes: string[]; expiresInDays?: number },
  ) => api<CreatedToken>('POST', `${sa(orgId, id)}/tokens`, b),
  revokeServiceAccountToken: (orgId: string, id: string, tokenId: string) =>
    api<{ ok: true }>('DELETE', `${sa(orgId, id)}/tokens/${encodeURIComponent(tokenId)}`),
  audit: (orgId: string, f: AuditFilter) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v !== undefined && v !== '') q.set(k, String(v));
    return api<{ entries: AuditEntry[] }>('GET', `${org(orgId)}/audit?${q}`);
  },
  sso: (orgId: string) => api<SsoSettings>('GET', `${org(orgId)}/sso`),
  configureSso: (orgId: string, b: SsoConfigInput) => api<SsoSettings>('PUT', `${org(orgId)}/sso`, b),
  addSsoDomain: (orgId: string, domain: string) =>
    api<SsoDomain>('POST', `${org(orgId)}/sso/domains`, { domain }),
  verifySsoDomain: (orgId: string, domain: string) =>
    api<SsoDomain>('POST', `${org(orgId)}/sso/domains/${encodeURIComponent(domain)}/verify`),
  removeSsoDomain: (orgId: string, domain: string) =>
    api<{ ok: true }>('DELETE', `${org(orgId)}/sso/domains/${encodeURIComponent(domain)}`),
};
