/**
 * An organization proves it controls an email domain by publishing a TXT record
 * `_understory-challenge.<domain>` holding its verification token; we read it over DNS-over-HTTPS (JSON API,
 * RFC 8484's JSON sibling as served by Cloudflare and Google) from DNS_RESOLVER_URL.
 */
export const CHALLENGE_LABEL = '_understory-challenge';

export function challengeRecord(domain: string, token: string) {
  return {
    type: 'TXT' as const,
    name: `${CHALLENGE_LABEL}.${domain}`,
    value: `understory-verification=${token}`,
  };
}

type DohAnswer = { Status?: number; Answer?: { type?: number; data?: string }[] };

/** Whether the domain's challenge TXT record holds the token. Throws when the resolver cannot be asked. */
export async function domainHasChallenge(
  resolverUrl: string,
  domain: string,
  token: string,
): Promise<boolean> {
  const { name, value } = challengeRecord(domain, token);
  const url = new URL(resolverUrl);
  url.searchParams.set('name', name);
  url.searchParams.set('type', 'TXT');
  const res = await fetch(url, {
    headers: { accept: 'application/dns-json' },
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`cannot query DNS resolver: HTTP ${res.status}`);
  const answer = (await res.json()) as DohAnswer;
  // TXT data comes quoted and may be split into several quoted strings.
  const texts = (answer.Answer ?? [])
    .filter((a) => a.type === 16 && typeof a.data === 'string')
    .map((a) => (a.data as string).replace(/^"|"$/g, '').replaceAll('" "', ''));
  return texts.includes(value);
}
