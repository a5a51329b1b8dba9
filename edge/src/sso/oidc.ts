/**
 * OpenID Connect relying party: authorization code flow with PKCE (S256), state and nonce, through oauth4webapi
 * (discovery, token request, ID token claim checks: iss, aud, exp, nonce) plus jose for the ID token's
 * signature against the provider's JWKS. oauth4webapi alone does not check signatures of ID tokens received
 * from the token endpoint (OIDC Core 3.1.3.7 lets TLS stand in); we check them anyway.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';

export type OidcClientConfig = { issuer: string; clientId: string; clientSecret: string | null };

/** Plain-http issuers are only for local development and tests (SSO_ALLOW_INSECURE_HTTP=true). */
export type OidcOptions = { allowInsecureHttp: boolean };

const DISCOVERY_TTL_MS = 10 * 60_000;
const discoveryCache = new Map<string, { at: number; as: oauth.AuthorizationServer }>();
const jwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function httpOptions(opts: OidcOptions) {
  return { [oauth.allowInsecureRequests]: opts.allowInsecureHttp, signal: AbortSignal.timeout(10_000) };
}

export async function discover(issuer: string, opts: OidcOptions): Promise<oauth.AuthorizationServer> {
  const cached = discoveryCache.get(issuer);
  if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.as;
  const url = new URL(issuer);
  const as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, httpOptions(opts)));
  discoveryCache.set(issuer, { at: Date.now(), as });
  return as;
}

export type PendingAuthorization = { state: string; nonce: string; codeVerifier: string; url: URL };

export async function beginAuthorization(
  as: oauth.AuthorizationServer,
  config: OidcClientConfig,
  redirectUri: string,
  loginHint: string,
): Promise<PendingAuthorization> {
  if (!as.authorization_endpoint) throw new Error('provider has no authorization_endpoint');
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    login_hint: loginHint,
  }).toString();
  return { state, nonce, codeVerifier, url };
}

export type VerifiedIdentity = {
  subject: string;
  email: string;
  emailVerified: boolean;
  name: string | null;
};

/** Exchanges the code and returns the verified identity; throws on any failed check. */
export async function completeAuthorization(
  as: oauth.AuthorizationServer,
  config: OidcClientConfig,
  callback: URL,
  pending: { state: string; nonce: string; codeVerifier: string; redirectUri: string },
  opts: OidcOptions,
): Promise<VerifiedIdentity> {
  const client: oauth.Client = { client_id: config.clientId };
  const auth = config.clientSecret ? oauth.ClientSecretBasic(config.clientSecret) : oauth.None();
  const params = oauth.validateAuthResponse(as, client, callback, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    auth,
    params,
    pending.redirectUri,
    pending.codeVerifier,
    httpOptions(opts),
  );
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
    expectedNonce: pending.nonce,
    requireIdToken: true,
  });
  if (!result.id_token || !as.jwks_uri) throw new Error('no ID token or no jwks_uri');
  let jwks = jwksCache.get(as.jwks_uri);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(as.jwks_uri), { timeoutDuration: 10_000 });
    jwksCache.set(as.jwks_uri, jwks);
  }
  const { payload } = await jwtVerify(result.id_token, jwks, {
    issuer: as.issuer,
    audience: config.clientId,
    algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
  });
  if (typeof payload.sub !== 'string') throw new Error('ID token lacks sub');
  // Providers that follow OIDC Core 5.4 strictly (oidc-provider's default) put scope claims only in UserInfo.
  let claims: Record<string, unknown> = payload;
  if (typeof payload.email !== 'string') {
    const info = await oauth.userInfoRequest(as, client, result.access_token, httpOptions(opts));
    claims = await oauth.processUserInfoResponse(as, client, payload.sub, info);
  }
  if (typeof claims.email !== 'string') throw new Error('provider gave no email claim');
  return {
    subject: payload.sub,
    email: claims.email.toLowerCase(),
    emailVerified: claims.email_verified === true,
    name: typeof claims.name === 'string' ? claims.name : null,
  };
}
