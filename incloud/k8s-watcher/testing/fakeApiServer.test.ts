import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApiServer } from './fakeApiServer.ts';
import { loadShopCluster, podObject, until } from './shopCluster.ts';

// kubectl (Kubernetes' own client, /usr/bin/kubectl) is the judge of whether the fake speaks the real
// wire format: discovery, paged lists, watch streams and Status errors.
const KUBECTL = '/usr/bin/kubectl';
const run = promisify(execFile);
const env = { ...process.env, KUBECONFIG: '/dev/null', HOME: '/nonexistent' };

async function kubectl(server: string, ...args: string[]) {
  return run(KUBECTL, ['--server', server, ...args], { env, timeout: 30_000 });
}

describe('fake API server checked with kubectl', () => {
  const fake = new FakeApiServer({ bookmarkIntervalMs: 0 });

  beforeAll(async () => {
    await fake.start();
    loadShopCluster(fake);
  });
  afterAll(() => fake.stop());

  it('kubectl get pods -A -o json pages through continue tokens', async () => {
    const { stdout } = await kubectl(fake.url, 'get', 'pods', '-A', '-o', 'json', '--chunk-size=2');
    const list = JSON.parse(stdout) as {
      items: { kind: string; metadata: { namespace: string; name: string } }[];
    };
    expect(list.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual([
      'batch/nightly-report-29403255-5cz8d',
      'kube-system/kube-apiserver-node-a',
      'kube-system/node-agent-7xq2m',
      'shop/checkout-7d9f8b6c5-q9wzt',
      'shop/checkout-7d9f8b6c5-x4k2p',
      'shop/postgres-0',
    ]);
    expect(list.items.every((p) => p.kind === 'Pod')).toBe(true);
    expect(
      fake.requests.filter((r) => r.startsWith('GET /api/v1/pods?') && r.includes('continue=')),
    ).toHaveLength(2);
  });

  it('kubectl reads other groups and single objects', async () => {
    const deploy = JSON.parse(
      (await kubectl(fake.url, 'get', 'deploy', 'checkout', '-n', 'shop', '-o', 'json')).stdout,
    );
    expect(deploy.spec.replicas).toBe(2);
    const cj = (await kubectl(fake.url, 'get', 'cronjobs', '-n', 'batch', '-o', 'name')).stdout;
    expect(cj.trim()).toBe('cronjob.batch/nightly-report');
    const slices = (await kubectl(fake.url, 'get', 'endpointslices', '-A', '-o', 'name')).stdout;
    expect(slices.trim().split('\n')).toHaveLength(2);
    const missing = kubectl(fake.url, 'get', 'pod', 'nope', '-n', 'shop');
    await expect(missing).rejects.toMatchObject({ stderr: expect.stringContaining('pods "nope" not found') });
  });

  it('kubectl get pods --watch sees a pod created after the list', async () => {
    const child = spawn(
      KUBECTL,
      ['--server', fake.url, 'get', 'pods', '-n', 'shop', '--watch', '-o', 'name'],
      { env },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      await until('initial list', () => out.includes('pod/postgres-0'), 30_000);
      fake.upsert('pods', podObject({ name: 'watched-pod', ip: '10.244.3.3' }));
      await until('watch event', () => out.includes('pod/watched-pod'), 30_000);
      expect(fake.requests.some((r) => /^GET \/api\/v1\/namespaces\/shop\/pods\?.*watch=true/.test(r))).toBe(
        true,
      );
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('fake API server errors as kubectl sees them', () => {
  it('401 Status without credentials, 403 Status for a forbidden resource', async () => {
    const fake = new FakeApiServer({ token: 'secret' });
    await fake.start();
    try {
      // kubectl does not send bearer tokens over plain HTTP, so it meets the 401 Status
      await expect(kubectl(fake.url, 'get', 'pods', '-A')).rejects.toMatchObject({
        stderr: expect.stringContaining('the server has asked for the client to provide credentials'),
      });
    } finally {
      await fake.stop();
    }
    const forbidding = new FakeApiServer({ forbidden: new Set(['secrets', 'pods']) });
    await forbidding.start();
    try {
      await expect(kubectl(forbidding.url, 'get', 'pods', '-n', 'shop')).rejects.toMatchObject({
        stderr: expect.stringContaining(
          'pods is forbidden: User "system:serviceaccount:understory:k8s-watcher"',
        ),
      });
    } finally {
      await forbidding.stop();
    }
  });

  it('answers a compacted resourceVersion with 410 (ERROR event, or HTTP 410)', async () => {
    const fake = new FakeApiServer();
    await fake.start();
    try {
      fake.upsert('pods', podObject({ name: 'a' }));
      const rv = fake.resourceVersion;
      fake.upsert('pods', podObject({ name: 'b' }));
      fake.compact();
      const res = await fetch(`${fake.url}/api/v1/pods?watch=true&resourceVersion=${rv}`);
      expect(res.status).toBe(200);
      const event = JSON.parse((await res.text()).trim());
      expect(event).toMatchObject({
        type: 'ERROR',
        object: { kind: 'Status', code: 410, reason: 'Expired' },
      });
      fake.opts.goneAsHttp = true;
      const http = await fetch(`${fake.url}/api/v1/pods?watch=1&resourceVersion=${rv}`);
      expect(http.status).toBe(410);
      expect(await http.json()).toMatchObject({ kind: 'Status', code: 410 });
      // a watch from the current resourceVersion is fine, and bookmarks carry it
      fake.opts.goneAsHttp = false;
      const live = await fetch(
        `${fake.url}/api/v1/pods?watch=true&resourceVersion=${fake.resourceVersion}&allowWatchBookmarks=true`,
      );
      const reader = live.body!.getReader();
      fake.sendBookmarks();
      const { value } = await reader.read();
      expect(JSON.parse(new TextDecoder().decode(value))).toMatchObject({
        type: 'BOOKMARK',
        object: { kind: 'Pod', metadata: { resourceVersion: String(fake.resourceVersion) } },
      });
      await reader.cancel();
    } finally {
      await fake.stop();
    }
  });
});
