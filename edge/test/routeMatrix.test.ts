/**
 * Generated checks over EVERY route, enumerated from the app and its OpenAPI document (built from the route
 * definitions): each declares a permission; anonymous callers get 401; every role below the permission's
 * minimum gets 403; tokens get exactly what their scopes allow; malformed bodies get 400; and the tenant
 * isolation matrix: every route x every role (and an admin API token) of org A x org B's resources leaks
 * nothing and changes nothing.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import app from '../src/index.ts';
import { ORG_PERMISSIONS, type OrgPermission, ROLES, roleAllows, tokenAllows } from '../src/permissions.ts';
import { permissionOf, routeKey } from '../src/routeRegistry.ts';
import { type CallOptions, call, callJson, unique } from './client.ts';
import { createOrgWorld, type OrgWorld } from './fixtures.ts';

type Op = { method: string; path: string; permission: string; hasBody: boolean };

const SAMPLE_BODIES: Record<string, unknown> = {
  'POST /api/auth/signup': { email: 'x@example.com', password: 'a long enough password', name: 'x' },
  'POST /api/auth/login': { email: 'x@example.com', password: 'whatever password' },
  'POST /api/orgs': { name: 'x', slug: 'matrix-x' },
  'PATCH /api/orgs/{orgId}': { name: 'Renamed' },
  'PATCH /api/orgs/{orgId}/members/{userId}': { role: 'editor' },
  'POST /api/orgs/{orgId}/invitations': { email: 'someone@example.com', role: 'viewer' },
  'POST /api/invitations/accept': { token: 'ust_inv_nothing' },
  'POST /api/orgs/{orgId}/tokens': { name: 't', scopes: ['read'] },
  'POST /api/orgs/{orgId}/service-accounts': { name: 'matrix-sa' },
  'POST /api/orgs/{orgId}/service-accounts/{serviceAccountId}/tokens': { name: 't', scopes: ['read'] },
  'POST /api/orgs/{orgId}/clusters': { name: 'matrix-cluster' },
  'PUT /api/orgs/{orgId}/sso': { issuer: 'https://idp.example.org', clientId: 'x', enabled: true },
  'POST /api/orgs/{orgId}/sso/domains': { domain: 'matrix.example.org' },
  // Monitors (routes/monitors.ts): forwarded to the cluster's portal.
  ...monitorBodies(),
};

function monitorBodies(): Record<string, unknown> {
  const base = 'POST /api/orgs/{orgId}/clusters/{clusterId}';
  const monitor = { name: 'm', condition: { type: 'promql', query: 'up', op: '<', threshold: 1 } };
  const target = { name: 't', type: 'webhook', url: 'https://hooks.example.org/x' };
  return {
    [`${base}/monitors`]: monitor,
    [`${base}/monitors/dry-run`]: {
      condition: { type: 'sql', source: 'logs', windowSeconds: 60, op: '>', threshold: 1 },
    },
    'PUT /api/orgs/{orgId}/clusters/{clusterId}/monitors/{monitorId}': monitor,
    [`${base}/monitor-templates/{templateId}`]: { params: {} },
    [`${base}/notification-targets`]: target,
    'PUT /api/orgs/{orgId}/clusters/{clusterId}/notification-targets/{targetId}': target,
    [`${base}/silences`]: { matchers: { severity: 'info' }, startsAt: 1, endsAt: 2 },
  };
}

/** Every route of the app (hono path syntax), known when the tests are collected so each gets its own test. */
const appRoutes: Op[] = [
  ...new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`)),
]
  .map((key) => {
    const [method = '', path = ''] = key.split(' ');
    return { method, path, permission: String(permissionOf(method, path)), hasBody: false };
  })
  .filter((r) => r.path !== '/api/openapi.json');

let ops: Op[] = [];
let a: OrgWorld;
let b: OrgWorld;

beforeAll(async () => {
  const doc = await callJson<{ paths: Record<string, Record<string, Record<string, unknown>>> }>(
    'GET',
    '/api/openapi.json',
  );
  expect(doc.status).toBe(200);
  ops = Object.entries(doc.body.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      permission: String(op['x-permission']),
      hasBody: op.requestBody !== undefined,
    })),
  );
  [a, b] = await Promise.all([createOrgWorld(), createOrgWorld()]);
}, 60_000);

/** The route's path with the world's ids; `resources` may come from another world than `org`. */
function fill(path: string, org: OrgWorld, resources: OrgWorld = org): string {
  const tokenId = path.includes('service-accounts')
    ? resources.serviceTokens.read.id
    : resources.viewerTokenId;
  const values: Record<string, string> = {
    orgId: org.orgId,
    userId: resources.members.viewer.userId,
    invitationId: resources.invitationId,
    tokenId,
    serviceAccountId: resources.serviceAccountId,
    clusterId: resources.clusterId,
    domain: resources.domain,
    // Cluster data routes (routes/clusterData.ts): arguments of the query itself, not resources.
    labelName: 'job',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    namespace: 'default',
    workload: 'web',
    monitorId: 'mon_matrix',
    templateId: 'pod-restarts',
    targetId: 'tgt_matrix',
    silenceId: 'sil_matrix',
  };
  return path.replaceAll(/\{(\w+)\}/g, (_, name: string) => {
    const v = values[name];
    if (!v) throw new Error(`no fixture value for path parameter ${name}`);
    return encodeURIComponent(v);
  });
}

function request(op: Op, path: string, who: CallOptions) {
  const body = op.hasBody ? SAMPLE_BODIES[`${op.method} ${op.path}`] : undefined;
  return callJson(op.method, path, { ...who, body });
}

const orgOps = () => ops.filter((op) => op.permission in ORG_PERMISSIONS);

/** Everything org B owns, to prove the matrix changed nothing there. */
async function snapshot(orgId: string): Promise<string> {
  const tables = [
    'orgs',
    'memberships',
    'invitations',
    'service_accounts',
    'clusters',
    'sso_domains',
    'sso_configs',
  ];
  const out: unknown[] = [];
  for (const t of tables) {
    const col = t === 'orgs' ? 'id' : 'org_id';
    out.push(
      (await env.DB.prepare(`SELECT * FROM ${t} WHERE ${col} = ? ORDER BY 1, 2`).bind(orgId).all()).results,
    );
  }
  out.push(
    (
      await env.DB.prepare(
        'SELECT id, revoked_at, expires_at, scopes FROM api_tokens WHERE org_id = ? ORDER BY id',
      )
        .bind(orgId)
        .all()
    ).results,
  );
  return JSON.stringify(out);
}

describe('route registry', () => {
  it('every route of the app is documented with a permission, and every documented route exists', () => {
    const appRoutes = new Set(
      app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`),
    );
    const documented = new Set(ops.map((op) => routeKey(op.method, op.path)));
    documented.add('GET /api/openapi.json');
    expect([...appRoutes].sort()).toEqual([...documented].sort());
    const known = new Set(['public', 'account', ...Object.keys(ORG_PERMISSIONS)]);
    for (const op of ops) expect(known.has(op.permission), `${op.method} ${op.path}`).toBe(true);
    expect(ops.length).toBeGreaterThan(30);
  });

  it('every route with a body has a sample body here', () => {
    for (const op of ops.filter((o) => o.hasBody)) {
      expect(SAMPLE_BODIES[`${op.method} ${op.path}`], `${op.method} ${op.path}`).toBeDefined();
    }
  });
});

describe('every route', () => {
  it('answers 401 to anonymous callers unless public', async () => {
    for (const op of ops.filter((o) => o.permission !== 'public')) {
      const res = await request(op, fill(op.path, a), {});
      expect(res.status, `${op.method} ${op.path}`).toBe(401);
      expect(res.body).toMatchObject({ error: { code: 'unauthenticated' } });
    }
  }, 60_000);

  it('answers 403 to every role below the permission it declares', async () => {
    let checked = 0;
    for (const op of orgOps()) {
      for (const role of ROLES.filter((r) => !roleAllows(r, op.permission as OrgPermission))) {
        const res = await request(op, fill(op.path, a), { as: a.members[role] });
        expect(res.status, `${role} ${op.method} ${op.path}`).toBe(403);
        expect(res.body).toMatchObject({ error: { code: 'forbidden' } });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  }, 60_000);

  it('gives API tokens exactly what their scopes allow (ingest: nothing here; account routes: never)', async () => {
    for (const op of ops.filter((o) => o.permission !== 'public')) {
      // Allowed calls are exercised per area (here they would change the world); the refused ones run together.
      const refused = (['read', 'write', 'admin', 'ingest'] as const).filter(
        (scope) =>
          !(op.permission in ORG_PERMISSIONS && tokenAllows([scope], null, op.permission as OrgPermission)),
      );
      const statuses = await Promise.all(
        refused.map(async (scope) => {
          const res = await request(op, fill(op.path, a), { token: a.serviceTokens[scope].token });
          return [scope, res.status] as const;
        }),
      );
      for (const [scope, status] of statuses)
        expect(status, `${scope} token ${op.method} ${op.path}`).toBe(403);
    }
  }, 60_000);

  it('answers 400 invalid_request to a malformed body', async () => {
    for (const op of ops.filter((o) => o.hasBody)) {
      const who = op.permission === 'public' ? {} : { as: a.members.owner };
      const res = await callJson(op.method, fill(op.path, a), { ...who, body: [] });
      expect(res.status, `${op.method} ${op.path}`).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'invalid_request' } });
    }
  }, 60_000);
});

describe('tenant isolation', () => {
  let before: string;
  beforeAll(async () => {
    before = await snapshot(b.orgId);
  });

  // One test per org route: every role of org A (and A's admin token) against org B's organization, and -
  // for the principals A lets use the route - against B's resources under A's own organization id.
  it.each(appRoutes.filter((r) => r.permission in ORG_PERMISSIONS))(
    '$method $path leaks and changes nothing of another organization',
    async (route) => {
      const op = ops.find((o) => routeKey(o.method, o.path) === `${route.method} ${route.path}`)!;
      const permission = op.permission as OrgPermission;
      const principals: [string, CallOptions, boolean][] = [
        ...ROLES.map((r): [string, CallOptions, boolean] => [
          r,
          { as: a.members[r] },
          roleAllows(r, permission),
        ]),
        ['admin token', { token: a.serviceTokens.admin.token }, tokenAllows(['admin'], null, permission)],
      ];
      const secrets = [
        b.orgId,
        b.slug,
        b.clusterId,
        b.clusterName,
        b.domain,
        b.serviceAccountId,
        b.invitationId,
      ];
      const hasResource = /\{(?!orgId)/.test(op.path);
      const cases = principals.flatMap(([who, opts, allowed]) => [
        { label: `${who} (foreign org)`, path: fill(op.path, b), opts },
        ...(hasResource && allowed
          ? [{ label: `${who} (own org, foreign resource)`, path: fill(op.path, a, b), opts }]
          : []),
      ]);
      // Concurrent: D1 keeps the requests apart, and the suite stays quick.
      const results = await Promise.all(
        cases.map(async (c) => ({ ...c, res: await request(op, c.path, c.opts) })),
      );
      for (const { label, res } of results) {
        expect([403, 404], label).toContain(res.status);
        const text = JSON.stringify(res.body);
        for (const secret of secrets) expect(text.includes(secret), `${label} leaked ${secret}`).toBe(false);
      }
      expect(await snapshot(b.orgId)).toBe(before);
    },
    60_000,
  );

  it('org B still works for its own members', async () => {
    expect(await snapshot(b.orgId)).toBe(before);
    const res = await call('GET', `/api/orgs/${b.orgId}/clusters/${b.clusterId}`, { as: b.members.viewer });
    expect(res.status).toBe(200);
  });

  it('an org id nobody may see answers exactly like a missing one', async () => {
    const missing = await callJson('GET', `/api/orgs/${unique('org_missing')}`, { as: a.members.owner });
    const foreign = await callJson('GET', `/api/orgs/${b.orgId}`, { as: a.members.owner });
    expect(foreign.status).toBe(missing.status);
    expect(foreign.body).toEqual(missing.body);
  });
});
