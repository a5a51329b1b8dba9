/**
 * What `understory up` does once its local edge answers, so the local portal can connect at once: through the
 * edge's own API (so passwords are hashed, rows validated and the audit log written exactly as for any user) it
 * makes sure a local account, an organization `local` and a cluster `local` exist, and writes the cluster's
 * install token where the portal reads it. Idempotent: a second run signs in with the saved account and keeps
 * a token that still matches the cluster, else rotates it. State lives in the data directory, mode 0600.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const LOCAL_EMAIL = 'admin@understory.localhost';
export const LOCAL_ORG = { name: 'Local', slug: 'local' } as const;
export const LOCAL_CLUSTER = 'local';

export interface LocalAccount {
  email: string;
  password: string;
  orgId: string;
  clusterId: string;
}

export interface BootstrapOptions {
  edgeUrl: string;
  /** Where the account is kept (JSON, 0600). */
  accountFile: string;
  /** Where the portal reads the install token (0600). */
  tokenFile: string;
}

type Json = Record<string, unknown>;

/** A signed-in session against the edge API (cookie + CSRF token), as the UI holds one. */
class EdgeSession {
  private cookie = '';
  private csrf = '';
  constructor(private readonly edgeUrl: string) {}

  async call(method: string, path: string, body?: Json): Promise<{ status: number; body: Json }> {
    const headers: Record<string, string> = { origin: new URL(this.edgeUrl).origin };
    if (body) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrf) headers['x-csrf-token'] = this.csrf;
    const res = await fetch(new URL(path, this.edgeUrl), {
      method,
      headers,
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as Json) : {};
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0]!;
    if (typeof parsed.csrfToken === 'string') this.csrf = parsed.csrfToken;
    return { status: res.status, body: parsed };
  }

  async expect(method: string, path: string, ok: number[], body?: Json): Promise<Json> {
    const res = await this.call(method, path, body);
    if (!ok.includes(res.status)) {
      const err = (res.body.error as { message?: string } | undefined)?.message ?? JSON.stringify(res.body);
      throw new Error(`cannot bootstrap the local edge: ${method} ${path} answered ${res.status}: ${err}`);
    }
    return res.body;
  }
}

function readAccount(path: string): Partial<LocalAccount> | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalAccount>;
  } catch {
    return undefined;
  }
}

/** Writes through a temporary file and a rename, so a reader (the portal) never sees half a token. */
function writeSecret(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

async function signIn(session: EdgeSession, saved: Partial<LocalAccount> | undefined) {
  if (saved?.email && saved.password) {
    const res = await session.call('POST', '/api/auth/login', {
      email: saved.email,
      password: saved.password,
    });
    if (res.status === 200) return { email: saved.email, password: saved.password };
    if (res.status !== 401)
      throw new Error(`cannot bootstrap the local edge: signing in answered ${res.status}`);
    // 401: the edge's database was reset; the account is created again below.
  }
  const password = randomBytes(18).toString('base64url');
  const res = await session.call('POST', '/api/auth/signup', {
    email: LOCAL_EMAIL,
    password,
    name: 'Local admin',
  });
  if (res.status === 409)
    throw new Error(
      `cannot bootstrap the local edge: ${LOCAL_EMAIL} exists but its password is not in the saved account ` +
        'file; sign in to the UI as that user, or remove the edge state directory to start over',
    );
  if (res.status !== 201)
    throw new Error(`cannot bootstrap the local edge: signing up answered ${res.status}`);
  return { email: LOCAL_EMAIL, password };
}

export async function bootstrapLocalEdge(o: BootstrapOptions): Promise<LocalAccount> {
  const session = new EdgeSession(o.edgeUrl);
  const { email, password } = await signIn(session, readAccount(o.accountFile));

  const { orgs } = (await session.expect('GET', '/api/orgs', [200])) as {
    orgs: { id: string; slug: string }[];
  };
  let orgId = orgs.find((org) => org.slug === LOCAL_ORG.slug)?.id;
  if (!orgId) orgId = String((await session.expect('POST', '/api/orgs', [201], { ...LOCAL_ORG })).id);

  const clustersPath = `/api/orgs/${orgId}/clusters`;
  const { clusters } = (await session.expect('GET', clustersPath, [200])) as {
    clusters: { id: string; name: string; installTokenPrefix: string }[];
  };
  const existing = clusters.find((c) => c.name === LOCAL_CLUSTER);
  let token: string | undefined;
  let clusterId: string;
  if (!existing) {
    const made = await session.expect('POST', clustersPath, [201], { name: LOCAL_CLUSTER });
    clusterId = String(made.id);
    token = String(made.installToken);
  } else {
    clusterId = existing.id;
    const onDisk = existsSync(o.tokenFile) ? readFileSync(o.tokenFile, 'utf8').trim() : '';
    // Only a prefix is visible through the API; a token rotated in the UI has another one.
    if (!onDisk.startsWith(existing.installTokenPrefix)) {
      const rotated = await session.expect('POST', `${clustersPath}/${clusterId}/install-token`, [200]);
      token = String(rotated.installToken);
    }
  }
  if (token) writeSecret(o.tokenFile, `${token}\n`);
  const account: LocalAccount = { email, password, orgId, clusterId };
  writeSecret(o.accountFile, `${JSON.stringify(account, null, 2)}\n`);
  return account;
}
