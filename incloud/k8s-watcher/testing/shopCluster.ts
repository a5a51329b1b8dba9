import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import type { FakeApiServer } from './fakeApiServer.ts';

const TESTDATA = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata');

export interface StoredObject {
  resource: string;
  object: Record<string, unknown> & { metadata: { name: string; namespace?: string } };
}

/** The hand-written, realistic cluster in testdata/shop-cluster.json (deployment, cron job, ...). */
export function shopCluster(): StoredObject[] {
  return JSON.parse(readFileSync(join(TESTDATA, 'shop-cluster.json'), 'utf8')) as StoredObject[];
}

export function loadShopCluster(fake: FakeApiServer): void {
  for (const { resource, object } of shopCluster()) fake.upsert(resource, object);
}

/** A KubeConfig pointing client-node at the fake API server (plain HTTP, bearer token). */
export function kubeConfigFor(fake: FakeApiServer, token = 'fake-token'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: fake.url, skipTLSVerify: true }],
    users: [{ name: 'watcher', token }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'watcher' }],
    currentContext: 'fake',
  });
  return kc;
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A pod object in the wire format, for tests that create pods on the fake server. */
export function podObject(opts: {
  name: string;
  namespace?: string;
  ip?: string;
  phase?: string;
  owner?: { kind: string; name: string; uid: string };
  containerId?: string;
  node?: string;
}): Record<string, unknown> & { metadata: { name: string } } {
  const metadata: Record<string, unknown> = { name: opts.name, namespace: opts.namespace ?? 'shop' };
  if (opts.owner) {
    metadata.ownerReferences = [
      { apiVersion: 'apps/v1', ...opts.owner, controller: true, blockOwnerDeletion: true },
    ];
  }
  const status: Record<string, unknown> = { phase: opts.phase ?? 'Running' };
  if (opts.ip) {
    status.podIP = opts.ip;
    status.podIPs = [{ ip: opts.ip }];
  }
  if (opts.containerId) {
    status.containerStatuses = [
      {
        name: 'app',
        ready: true,
        restartCount: 0,
        image: 'app:1',
        containerID: `containerd://${opts.containerId}`,
      },
    ];
  }
  return {
    metadata: metadata as { name: string },
    spec: { nodeName: opts.node ?? 'node-a', containers: [{ name: 'app', image: 'app:1' }] },
    status,
  };
}
