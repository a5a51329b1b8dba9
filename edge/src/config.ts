/**
 * Reads the worker's plain settings (wrangler.toml [vars]). `wrangler types` types them as the literal values of
 * wrangler.toml, so they are widened to strings here, where tests and other environments override them.
 */
export type EdgeConfig = {
  publicUrl: string | null;
  dnsResolverUrl: string;
  ssoAllowInsecureHttp: boolean;
};

export function edgeConfig(env: Env): EdgeConfig {
  const vars = env as unknown as Record<string, string | undefined>;
  return {
    publicUrl: vars.EDGE_PUBLIC_URL ? vars.EDGE_PUBLIC_URL : null,
    dnsResolverUrl: vars.DNS_RESOLVER_URL || 'https://cloudflare-dns.com/dns-query',
    ssoAllowInsecureHttp: vars.SSO_ALLOW_INSECURE_HTTP === 'true',
  };
}
