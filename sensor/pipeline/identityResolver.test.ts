import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { IpOwner } from '../../incloud/k8s-watcher/client/entryIndex.ts';
import type { ApiCall } from '../protocols/contract.ts';
import { apiCall } from '../testing/apiCall.ts';
import { IdentityResolver, type MetadataLookup } from './identityResolver.ts';

// Names are reused per (process, peer) pair; these check that reuse never outlives what named them: a
// change of the watcher's copy or a newly learnt DNS answer renames at once, and the counts stay per call.
const proc = mkdtempSync(join(tmpdir(), 'understory-names-'));
mkdirSync(join(proc, '100'));
writeFileSync(join(proc, '100', 'comm'), 'shop\n');
writeFileSync(join(proc, '100', 'cgroup'), '0::/system.slice/shop.service\n');
afterAll(() => rmSync(proc, { recursive: true, force: true }));

const call = (over: Partial<ApiCall> = {}): ApiCall =>
  apiCall({
    role: 'client',
    resource: '/',
    pid: 100,
    client: { ip: '10.0.0.1', port: 40000 },
    server: { ip: '192.0.2.7', port: 443 },
    ...over,
  });

/** A watcher copy whose IP index the test edits (each edit moves `rev`, as the real client's does). */
class FakeMetadata implements MetadataLookup {
  rev = 1;
  readonly ips = new Map<string, IpOwner>();
  lookupIp(ip: string) {
    return this.ips.get(ip);
  }
  lookupContainer() {
    return undefined;
  }
  lookupPid() {
    return undefined;
  }
  get() {
    return undefined;
  }
}

describe('IdentityResolver name reuse', () => {
  it('shares one Identity per (process, peer) and still counts every call', () => {
    const r = new IdentityResolver({ processes: { procRoot: proc } });
    const a = r.identify(call());
    const b = r.identify(call());
    expect(b).toBe(a);
    expect(a).toEqual({ workload: 'shop', namespace: '', peer: '192.0.2.7:443' });
    // Another port of the same server is another peer; a server call's peer is the client's address only.
    expect(r.identify(call({ server: { ip: '192.0.2.7', port: 80 } })).peer).toBe('192.0.2.7:80');
    expect(r.identify(call({ role: 'server', client: { ip: '10.0.0.9', port: 5 } })).peer).toBe('10.0.0.9');
    expect(r.identify(call({ role: 'server', client: { ip: '10.0.0.9', port: 6 } })).peer).toBe('10.0.0.9');
    expect(r.identify(call({ pid: undefined })).workload).toBe('unknown');
    expect(r.counts.workload).toEqual({ k8s: 0, host: 5, unknown: 1 });
    expect(r.counts.peer).toEqual({ k8s: 0, dns: 0, address: 6 });
  });

  it('renames a peer as soon as a DNS answer names its address', () => {
    const r = new IdentityResolver({ processes: { procRoot: proc } });
    expect(r.identify(call()).peer).toBe('192.0.2.7:443');
    r.observe(
      call({
        protocol: 'dns',
        method: 'A',
        resource: 'api.example.com',
        status: 'NOERROR',
        attributes: { 'dns.answers': '192.0.2.7', 'dns.answers.min_ttl': 600 },
      }),
    );
    expect(r.identify(call()).peer).toBe('api.example.com');
    expect(r.counts.peer).toEqual({ k8s: 0, dns: 1, address: 1 });
  });

  it('renames when the watcher copy changes', () => {
    const m = new FakeMetadata();
    const r = new IdentityResolver({ processes: { procRoot: proc } }, m);
    expect(r.identify(call()).peer).toBe('192.0.2.7:443');
    m.ips.set('192.0.2.7', {
      type: 'service',
      uid: 'u1',
      namespace: 'shop',
      name: 'payments',
      serviceType: 'ClusterIP',
      clusterIPs: ['192.0.2.7'],
      ports: [],
    });
    // Same revision: the name made before is still the answer (this is the reuse).
    expect(r.identify(call()).peer).toBe('192.0.2.7:443');
    m.rev++;
    expect(r.identify(call()).peer).toBe('payments');
    expect(r.counts.peer).toEqual({ k8s: 1, dns: 0, address: 2 });
  });
});
