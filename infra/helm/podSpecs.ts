import type { Manifest } from './k8sSchema.ts';

/** The parts of workload manifests the chart's tests inspect (typed loosely: rendered YAML). */
export interface Capabilities {
  add?: string[];
  drop?: string[];
}
export interface SecurityContext {
  privileged?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: Capabilities;
}
export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  securityContext?: SecurityContext;
  volumeMounts?: VolumeMount[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
export interface Volume {
  name: string;
  hostPath?: { path: string };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
}
export interface PodSpec {
  hostPID?: boolean;
  hostNetwork?: boolean;
  securityContext?: SecurityContext;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  tolerations?: { operator?: string; key?: string }[];
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

/** Every workload of a render with its pod spec. */
export function podSpecs(manifests: Manifest[]): { workload: Manifest; pod: PodSpec }[] {
  return manifests
    .filter((m) => WORKLOADS.has(m.kind))
    .map((m) => {
      const spec = m.spec as { template: { spec: PodSpec } };
      return { workload: m, pod: spec.template.spec };
    });
}

export function allContainers(pod: PodSpec): Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

/** The value of `--flag=value` (or `-flag=value`) in a container's args, or undefined. */
export function flag(c: Container, name: string): string | undefined {
  const prefix = `${name}=`;
  return c.args?.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}
