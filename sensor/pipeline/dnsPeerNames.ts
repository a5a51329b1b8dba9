import { isIP } from 'node:net';
import type { ApiCall } from '../protocols/contract.ts';

/**
 * IP -> DNS name, learnt from the DNS answers the sensor captured (the `dns` protocol's `dns.answers` and
 * `dns.answers.min_ttl` attributes). A peer the k8s-watcher does not know (an external database, a SaaS API)
 * is then named by what the application asked for (`api.stripe.com`) rather than an address.
 *
 * The name is the QUESTION name, not the last CNAME target: that is the name the application used.
 * Bounds: at most `maxEntries` addresses (the least recently learnt go first) and each entry lives for its
 * answer TTL clamped to [minTtlS, maxTtlS]. The floor exists because clients keep pooled connections open
 * long after the TTL ran out and the peer label should not flip to an address (a new series) meanwhile; the
 * ceiling bounds how long a reused address can keep an old name. When one address is answered for several
 * names (a CDN), the latest answer wins.
 *
 * Called on the event loop only; `lookup` is a map read plus a clock comparison.
 */
export interface DnsPeerNamesConfig {
  maxEntries: number;
  minTtlS: number;
  maxTtlS: number;
  /** Used when an answer carries no TTL attribute (older captures). */
  defaultTtlS: number;
}

export const DEFAULT_DNS_PEER_NAMES: DnsPeerNamesConfig = {
  maxEntries: 10_000,
  minTtlS: 300,
  maxTtlS: 3600,
  defaultTtlS: 300,
};

const MAX_NAME = 253;

interface Learnt {
  name: string;
  expiresAtMs: number;
}

export class DnsPeerNames {
  private readonly byIp = new Map<string, Learnt>();
  private readonly c: DnsPeerNamesConfig;
  /** Answers learnt, entries evicted for room, entries found expired. */
  readonly counts = { learnt: 0, evicted: 0, expired: 0 };

  constructor(
    config: Partial<DnsPeerNamesConfig> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.c = { ...DEFAULT_DNS_PEER_NAMES, ...config };
    const { maxEntries, minTtlS, maxTtlS, defaultTtlS } = this.c;
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new Error('cannot configure DNS peer names: maxEntries must be a positive integer');
    if (!(minTtlS >= 0 && maxTtlS >= minTtlS && defaultTtlS >= 0))
      throw new Error('cannot configure DNS peer names: need 0 <= minTtlS <= maxTtlS and defaultTtlS >= 0');
  }

  get size(): number {
    return this.byIp.size;
  }

  /** Learns from one captured DNS call; any other call, a failed lookup or a reverse lookup is ignored. */
  observe(call: ApiCall): void {
    if (call.protocol !== 'dns' || call.error) return;
    const answers = call.attributes?.['dns.answers'];
    if (typeof answers !== 'string' || answers === '') return;
    const name = normalName(call.resource);
    if (name === undefined) return;
    const ttlAttr = call.attributes?.['dns.answers.min_ttl'];
    const ttl = typeof ttlAttr === 'number' && Number.isFinite(ttlAttr) ? ttlAttr : this.c.defaultTtlS;
    const lifeS = Math.min(this.c.maxTtlS, Math.max(this.c.minTtlS, ttl));
    const expiresAtMs = this.now() + lifeS * 1000;
    for (const answer of answers.split(',')) {
      if (isIP(answer) === 0) continue; // CNAME targets and other record types
      this.set(plainIp(answer), { name, expiresAtMs });
    }
  }

  /** The name `ip` was last resolved from, while its entry lives. */
  lookup(ip: string): string | undefined {
    const key = plainIp(ip);
    const hit = this.byIp.get(key);
    if (!hit) return undefined;
    if (hit.expiresAtMs <= this.now()) {
      this.byIp.delete(key);
      this.counts.expired++;
      return undefined;
    }
    return hit.name;
  }

  private set(ip: string, learnt: Learnt): void {
    // Re-inserting moves the address to the young end of the map, so eviction takes the stalest.
    this.byIp.delete(ip);
    this.byIp.set(ip, learnt);
    this.counts.learnt++;
    while (this.byIp.size > this.c.maxEntries) {
      const oldest = this.byIp.keys().next().value;
      if (oldest === undefined) break;
      this.byIp.delete(oldest);
      this.counts.evicted++;
    }
  }
}

/** Lower case, no trailing dot; undefined for reverse lookups and names that are not names. */
function normalName(qname: string): string | undefined {
  let name = qname.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '' || name.length > MAX_NAME) return undefined;
  if (name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa')) return undefined;
  if (!/^[a-z0-9_*.-]+$/.test(name)) return undefined; // binary junk in a label must not become a label value
  return name;
}

/** `::ffff:10.1.2.3` (an IPv4 peer on a dual-stack socket) is the IPv4 address. */
export function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip.toLowerCase();
}
