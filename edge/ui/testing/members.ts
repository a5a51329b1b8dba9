/**
 * Users for role tests through the edge's own API (no shortcut into D1): a member signs up and joins the
 * stack's organization with a role by a real invitation, issued by the stack's owner.
 */
const OWNER = { email: 'stack@example.com', password: 'a long enough password' };

async function call<T>(
  base: string,
  method: string,
  path: string,
  body: unknown,
  as?: { cookie: string; csrf: string },
): Promise<{ json: T; cookie: string }> {
  const res = await fetch(base + path, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(as ? { cookie: as.cookie, 'x-csrf-token': as.csrf } : {}),
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`cannot ${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return { json, cookie: /^[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0] ?? '' };
}

/** Signs up `email` and makes it a member of `orgId` with `role` (the owner invites, the user accepts). */
export async function addMember(
  base: string,
  orgId: string,
  member: { email: string; password: string; name: string; role: 'viewer' | 'editor' | 'admin' },
): Promise<void> {
  const owner = await call<{ csrfToken: string }>(base, 'POST', '/api/auth/login', OWNER);
  const ownerAs = { cookie: owner.cookie, csrf: owner.json.csrfToken };
  const invite = await call<{ token: string }>(
    base,
    'POST',
    `/api/orgs/${orgId}/invitations`,
    { email: member.email, role: member.role },
    ownerAs,
  );
  const user = await call<{ csrfToken: string }>(base, 'POST', '/api/auth/signup', {
    email: member.email,
    password: member.password,
    name: member.name,
  });
  await call(
    base,
    'POST',
    '/api/invitations/accept',
    { token: invite.json.token },
    { cookie: user.cookie, csrf: user.json.csrfToken },
  );
}
