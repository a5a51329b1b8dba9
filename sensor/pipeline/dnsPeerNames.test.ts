import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayCapture } from '../pcap/pcapSource.ts';
import type { ApiCall } from '../protocols/contract.ts';
import { spec as dnsSpec } from '../protocols/dns/index.ts';
import { DnsPeerNames } from './dnsPeerNames.ts';

const dns = (resource: string, answers: string, over: Partial<ApiCall> = {}): ApiCall => ({
  protocol: 'dns',
  role: 'client',
  method: 'A',
  resource,
  status: 'NOERROR',
  error: false,
  startNs: 1n,
  endNs: 2n,
  reqBytes: 1,
  respBytes: 1,
  attributes: { 'dns.answers': answers, 'dns.answers.min_ttl': 60 },
  ...over,
});

describe('DnsPeerNames', () => {
  it.each([
    // [what, call, address looked up, expected name]
    ['A answer', dns('api.example.com', '192.0.2.1'), '192.0.2.1', 'api.example.com'],
    [
      'question name, not the CNAME target',
      dns('www.shop.test', 'cdn.net,192.0.2.2'),
      '192.0.2.2',
      'www.shop.test',
    ],
    [
      'AAAA answer',
      dns('v6.example.com', '2001:db8::1', { method: 'AAAA' }),
      '2001:db8::1',
      'v6.example.com',
    ],
    ['case and trailing dot', dns('Mixed.Example.COM.', '192.0.2.3'), '192.0.2.3', 'mixed.example.com'],
    ['IPv4-mapped peer', dns('mapped.test', '192.0.2.4'), '::ffff:192.0.2.4', 'mapped.test'],
    [
      'failed lookup',
      dns('nx.test', '192.0.2.5', { error: true, status: 'NXDOMAIN' }),
      '192.0.2.5',
      undefined,
    ],
    ['reverse lookup', dns('5.2.0.192.in-addr.arpa', '192.0.2.6', { method: 'PTR' }), '192.0.2.6', undefined],
    ['not DNS', dns('x.test', '192.0.2.7', { protocol: 'http' }), '192.0.2.7', undefined],
    ['junk in the name', dns('a\u0000b.test', '192.0.2.8'), '192.0.2.8', undefined],
    ['no answers', dns('empty.test', ''), '', undefined],
  ] as const)('%s', (_what, call, ip, expected) => {
    const names = new DnsPeerNames({}, () => 0);
    names.observe(call);
    expect(names.lookup(ip)).toBe(expected);
  });

  it('keeps a name for its TTL clamped to [minTtlS, maxTtlS], and the latest answer wins', () => {
    let now = 0;
    const names = new DnsPeerNames({ minTtlS: 10, maxTtlS: 100 }, () => now);
    names.observe(
      dns('short.test', '192.0.2.1', {
        attributes: { 'dns.answers': '192.0.2.1', 'dns.answers.min_ttl': 1 },
      }),
    );
    names.observe(
      dns('long.test', '192.0.2.2', {
        attributes: { 'dns.answers': '192.0.2.2', 'dns.answers.min_ttl': 86400 },
      }),
    );
    now = 9_999;
    expect(names.lookup('192.0.2.1')).toBe('short.test'); // 1 s raised to the 10 s floor
    now = 10_000;
    expect(names.lookup('192.0.2.1')).toBeUndefined();
    now = 99_999;
    expect(names.lookup('192.0.2.2')).toBe('long.test');
    names.observe(dns('other.test', '192.0.2.2'));
    expect(names.lookup('192.0.2.2')).toBe('other.test');
    now = 99_999 + 59_000;
    expect(names.lookup('192.0.2.2')).toBe('other.test'); // the re-resolution renewed it
    expect(names.counts.expired).toBe(1);
  });

  it('holds at most maxEntries addresses, evicting the least recently learnt', () => {
    const names = new DnsPeerNames({ maxEntries: 3 }, () => 0);
    for (let i = 1; i <= 5; i++) names.observe(dns(`h${i}.test`, `192.0.2.${i}`));
    names.observe(dns('h3-again.test', '192.0.2.3'));
    names.observe(dns('h6.test', '192.0.2.6'));
    expect(names.size).toBe(3);
    expect(['192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6'].map((ip) => names.lookup(ip))).toEqual([
      'h3-again.test',
      undefined,
      'h5.test',
      'h6.test',
    ]);
    expect(names.counts.evicted).toBe(3);
  });

  it('refuses impossible bounds', () => {
    expect(() => new DnsPeerNames({ maxEntries: 0 })).toThrow(/cannot configure DNS peer names/);
    expect(() => new DnsPeerNames({ minTtlS: 10, maxTtlS: 5 })).toThrow(/minTtlS <= maxTtlS/);
  });
});

// Real captures through the real DNS parser: every address a successful A/AAAA answer carried (tshark's
// reading, goldens/) must be named by one of the questions that resolved to it, with the answers' TTL.
describe('DnsPeerNames on the DNS captures of testdata', () => {
  const root = '/work/shared/testdata';
  const files = readdirSync(join(root, 'pcaps', 'dns')).filter((f) => /\.pcap(ng)?$/.test(f));

  it('learns every A/AAAA answer tshark sees in a NOERROR response', () => {
    let checked = 0;
    for (const file of files) {
      const golden = JSON.parse(readFileSync(join(root, 'goldens', 'dns', `${file}.json`), 'utf8')) as {
        golden: {
          messages: {
            is_response: boolean;
            rcode: number | null;
            qname: string;
            answers: { type: number; ttl: number; data: string }[];
          }[];
        };
      };
      const { calls } = replayCapture(readFileSync(join(root, 'pcaps', 'dns', file)), [dnsSpec]);
      const names = new DnsPeerNames({ maxTtlS: 1e9 }, () => 0);
      for (const c of calls) names.observe(c);
      const askedFor = new Map<string, Set<string>>();
      for (const m of golden.golden.messages) {
        if (!m.is_response || m.rcode !== 0) continue;
        for (const a of m.answers.slice(0, 8)) {
          if (a.type !== 1 && a.type !== 28) continue;
          const set = askedFor.get(a.data) ?? new Set<string>();
          set.add(m.qname.toLowerCase());
          askedFor.set(a.data, set);
        }
      }
      for (const [ip, qnames] of askedFor) {
        // A response whose query the capture lacks makes no call: only check what the parser paired.
        const paired = calls.some((c) => String(c.attributes?.['dns.answers']).split(',').includes(ip));
        if (!paired) continue;
        expect(qnames, `${file}: ${ip}`).toContain(names.lookup(ip));
        checked++;
      }
      for (const c of calls) {
        const ttl = c.attributes?.['dns.answers.min_ttl'];
        if (c.attributes?.['dns.answers']) expect(typeof ttl, `${file}: ${c.resource}`).toBe('number');
      }
    }
    expect(checked).toBeGreaterThan(5);
  });
});
