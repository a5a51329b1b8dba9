import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bareContainerId,
  type EndpointSliceRecord,
  type EventRecord,
  type NodeRecord,
  type PodRecord,
  type ServiceRecord,
  stripEvent,
  stripPod,
  type WorkloadRecord,
} from './records.ts';
import { resourceByName } from './resources.ts';

// kubernetes/api round-trip fixtures: every field is set to a placeholder, so they show whether the
// stripper reads each field it needs from where the real API puts it.
const FIXTURES = '/work/shared/testdata/k8s/api-testdata';
const FILES: [string, string][] = [
  ['pods', 'core.v1.Pod.json'],
  ['services', 'core.v1.Service.json'],
  ['endpointslices', 'discovery.k8s.io.v1.EndpointSlice.json'],
  ['nodes', 'core.v1.Node.json'],
  ['namespaces', 'core.v1.Namespace.json'],
  ['deployments', 'apps.v1.Deployment.json'],
  ['replicasets', 'apps.v1.ReplicaSet.json'],
  ['statefulsets', 'apps.v1.StatefulSet.json'],
  ['daemonsets', 'apps.v1.DaemonSet.json'],
  ['jobs', 'batch.v1.Job.json'],
  ['cronjobs', 'batch.v1.CronJob.json'],
];

function fixture(version: string, file: string): unknown {
  return JSON.parse(readFileSync(`${FIXTURES}/${version}/${file}`, 'utf8'));
}

describe.each(['HEAD', 'v1.33.0'])('stripping kubernetes/api fixtures %s', (version) => {
  it.each(FILES)('%s keeps metadata and shrinks the object', (resource, file) => {
    const raw = fixture(version, file);
    const rec = resourceByName(resource).strip(raw);
    expect(rec.metadata).toMatchObject({
      name: 'nameValue',
      uid: 'uidValue',
      resourceVersion: 'resourceVersionValue',
    });
    expect(rec.metadata.ownerReferences).toEqual([
      { kind: 'kindValue', name: 'nameValue', uid: 'uidValue', controller: true },
    ]);
    expect(rec.metadata.creationTimestamp).toBe('2008-01-01T01:01:01Z');
    expect(JSON.stringify(rec)).not.toContain('managerValue');
    expect(JSON.stringify(rec).length).toBeLessThan(JSON.stringify(raw).length / 2);
  });

  it('pod: IPs, node, host network, every container id kind', () => {
    const raw = fixture(version, 'core.v1.Pod.json');
    const pod = stripPod(raw) as PodRecord;
    // the reason for stripping: a full pod is tens of KB of spec the sensors never use
    expect(JSON.stringify(pod).length).toBeLessThan(JSON.stringify(raw).length / 20);
    expect(pod.podIPs).toEqual(['podIPValue', 'ipValue']);
    expect(pod.nodeName).toBe('nodeNameValue');
    expect(pod.hostIP).toBe('hostIPValue');
    expect(pod.hostNetwork).toBe(true);
    // init, regular and ephemeral container statuses each carry one
    expect(pod.containers.filter((c) => c.id === 'containerIDValue')).toHaveLength(3);
  });

  it('service, slice, node, workloads: the fields the model uses', () => {
    const svc = resourceByName('services').strip(fixture(version, 'core.v1.Service.json')) as ServiceRecord;
    expect(svc.clusterIPs).toEqual(['clusterIPValue', 'clusterIPsValue']);
    expect(svc.ports[0]).toEqual({ name: 'nameValue', port: 3, protocol: 'protocolValue' });
    const slice = resourceByName('endpointslices').strip(
      fixture(version, 'discovery.k8s.io.v1.EndpointSlice.json'),
    ) as EndpointSliceRecord;
    expect(slice.endpoints[0]?.addresses).toEqual(['addressesValue']);
    expect(slice.endpoints[0]?.targetRef).toMatchObject({ kind: 'kindValue', uid: 'uidValue' });
    const node = resourceByName('nodes').strip(fixture(version, 'core.v1.Node.json')) as NodeRecord;
    expect(node.addresses).toEqual([{ type: 'typeValue', address: 'addressValue' }]);
    expect(node.podCIDRs).toEqual(['podCIDRsValue']);
    const ds = resourceByName('daemonsets').strip(
      fixture(version, 'apps.v1.DaemonSet.json'),
    ) as WorkloadRecord;
    expect([ds.replicas, ds.readyReplicas]).toEqual([3, 4]);
    const job = resourceByName('jobs').strip(fixture(version, 'batch.v1.Job.json')) as WorkloadRecord;
    expect([job.replicas, job.readyReplicas, job.succeeded]).toEqual([1, 9, 5]);
    const cj = resourceByName('cronjobs').strip(fixture(version, 'batch.v1.CronJob.json')) as WorkloadRecord;
    expect(cj.schedule).toBe('scheduleValue');
    const deploy = resourceByName('deployments').strip(
      fixture(version, 'apps.v1.Deployment.json'),
    ) as WorkloadRecord;
    expect([deploy.replicas, deploy.readyReplicas]).toEqual([1, 7]);
  });
});

describe('stripping edge cases', () => {
  it('rejects an object without a name', () => {
    expect(() => stripPod({ metadata: {} })).toThrow(/metadata.name/);
    expect(() => stripPod('not an object')).toThrow(/metadata.name/);
  });

  it('reads Date objects from the generated client as RFC 3339', () => {
    const pod = stripPod({ metadata: { name: 'a', creationTimestamp: new Date('2026-01-02T03:04:05Z') } });
    expect(pod.metadata.creationTimestamp).toBe('2026-01-02T03:04:05.000Z');
  });

  it('bounds labels and event messages', () => {
    const labels = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'v'.repeat(1000)]));
    const pod = stripPod({ metadata: { name: 'a', labels } });
    expect(Object.keys(pod.metadata.labels ?? {})).toHaveLength(64);
    expect(pod.metadata.labels?.k0).toHaveLength(256);
    const ev = stripEvent({ metadata: { name: 'e' }, message: 'x'.repeat(10_000) }) as EventRecord;
    expect(ev.message).toHaveLength(4096);
  });

  it('events written by events.k8s.io clients use eventTime and series', () => {
    const ev = stripEvent({
      metadata: { name: 'e', namespace: 'n' },
      eventTime: '2026-11-25T10:00:00.123456Z',
      series: { count: 7, lastObservedTime: '2026-11-25T10:05:00.000000Z' },
      reportingComponent: 'karpenter',
    });
    expect([ev.count, ev.firstTimestamp, ev.lastTimestamp, ev.sourceComponent]).toEqual([
      7,
      '2026-11-25T10:00:00.123456Z',
      '2026-11-25T10:05:00.000000Z',
      'karpenter',
    ]);
  });

  it.each([
    ['containerd://abc', 'abc'],
    ['docker://0123', '0123'],
    ['cri-o://ff', 'ff'],
    ['plain', 'plain'],
    ['containerd://', undefined],
    [undefined, undefined],
  ])('container id %s -> %s', (input, want) => {
    expect(bareContainerId(input)).toBe(want);
  });
});
