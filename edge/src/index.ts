import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { newApp } from './app.ts';
import { authCache } from './auth/authCache.ts';
import type { AppEnv } from './env.ts';
import { ApiError } from './errors.ts';
import { MAX_BODY_BYTES } from './limits.ts';
import { authenticate } from './middleware/authenticate/index.ts';
import { authorize } from './middleware/authorize/index.ts';
import { csrf } from './middleware/csrf/index.ts';
import { requestContext } from './middleware/requestContext/index.ts';
import { declarePermission } from './routeRegistry.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerAuthRoutes } from './routes/auth.ts';
import { registerClusterDataRoutes } from './routes/clusterData.ts';
import { registerClusterRoutes } from './routes/clusters.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerInvitationRoutes } from './routes/invitations.ts';
import { registerMemberRoutes } from './routes/members.ts';
import { registerMonitorRoutes } from './routes/monitors.ts';
import { registerOrgRoutes } from './routes/orgs.ts';
import { registerServiceAccountRoutes } from './routes/serviceAccounts.ts';
import { registerSsoRoutes } from './routes/sso.ts';
import { registerSsoAdminRoutes } from './routes/ssoAdmin.ts';
import { registerTokenRoutes } from './routes/tokens.ts';
import { registerTunnelConnectRoute } from './tunnel/connectRoute.ts';

// The worker's main module may export only handlers and Durable Object classes: workerd refuses to start
// on anything else (e.g. a number). Helpers for other modules are exported from their own files.
export { ClusterTunnel } from './clusterTunnel.ts';

const app = newApp();

// Order matters: context -> size limit -> who is calling -> CSRF -> the permission table -> route.
app.use('/api/*', requestContext());
app.use(
  '/api/*',
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `cannot accept a body over ${MAX_BODY_BYTES} bytes`);
    },
  }),
);
// A change made here (sign-out, revocation, removal, rotation...) is seen at once by this isolate's next request.
app.use('/api/*', async (c, next) => {
  try {
    await next();
  } finally {
    if (!['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) authCache.clear();
  }
});
app.use('/api/*', authenticate());
app.use('/api/*', csrf());
app.use('/api/*', authorize());

registerHealthRoutes(app);
registerAuthRoutes(app);
registerSsoRoutes(app);
registerOrgRoutes(app);
registerMemberRoutes(app);
registerInvitationRoutes(app);
registerTokenRoutes(app);
registerServiceAccountRoutes(app);
registerClusterRoutes(app);
registerClusterDataRoutes(app);
registerMonitorRoutes(app);
registerTunnelConnectRoute(app);
registerAuditRoutes(app);
registerSsoAdminRoutes(app);

declarePermission('GET', '/api/openapi.json', 'public');
app.doc31('/api/openapi.json', {
  openapi: '3.1.0',
  info: {
    title: 'Understory edge API',
    version: '1',
    description:
      'Accounts, organizations, roles, API tokens, clusters, audit and SSO. Each operation lists the permission ' +
      'it needs in x-permission (edge/src/permissions.ts). Cookie-authenticated changes need X-CSRF-Token.',
  },
});

app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route for ${c.req.path}` } }, 404));

/** One place turns errors into responses of one shape; anything unexpected is a 500 without details. */
app.onError((err, c) => {
  if (err instanceof ApiError) {
    for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
    const issues = err.issues ? { issues: err.issues } : {};
    return c.json({ error: { code: err.code, message: err.message, ...issues } }, err.status);
  }
  if (err instanceof HTTPException) {
    // hono's own errors, e.g. the validator's "Malformed JSON in request body".
    const code = err.status === 400 ? 'invalid_request' : 'http_error';
    return c.json({ error: { code, message: `cannot accept the request: ${err.message}` } }, err.status);
  }
  console.error('unhandled error', err);
  return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
});

export type { AppEnv };
export default app;
