// The lab's workloads as Kubernetes objects: a Namespace per non-default namespace and a
// Deployment per workload whose pods prefer distinct nodes (seed 001: 4 nginx pods on 4
// workers), matching the plan's placement.
import type { Workload } from '../../lab/types.js';

export interface Namespace { apiVersion: 'v1'; kind: 'Namespace'; metadata: { name: string } }

interface Container { name: string; image: string; command?: string[]; ports?: { containerPort: number }[] }

export interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: { name: string; namespace: string; labels: { app: string } };
  spec: {
    replicas: number;
    selector: { matchLabels: { app: string } };
    template: {
      metadata: { labels: { app: string } };
      spec: {
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: {
              weight: number;
              podAffinityTerm: { labelSelector: { matchLabels: { app: string } }; topologyKey: string };
            }[];
          };
        };
        containers: Container[];
      };
    };
  };
}

/** Pinned tags: the same lab always runs the same images. */
const IMAGES: Record<string, string> = { nginx: 'nginx:1.27', busybox: 'busybox:1.36', alpine: 'alpine:3.20' };

/** Image by workload name (nginx, busybox, alpine), else nginx; shells get a long sleep to stay up. */
export function container(workload: string): Container {
  const image = IMAGES[workload] ?? IMAGES.nginx;
  if (image === IMAGES.nginx) return { name: workload, image, ports: [{ containerPort: 80 }] };
  return { name: workload, image, command: ['sleep', '2147483647'] };
}

export function namespaces(workloads: Workload[]): Namespace[] {
  const names = [...new Set(workloads.map((w) => w.namespace))].filter((n) => n !== 'default');
  return names.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
}

export function deployment(w: Workload): Deployment {
  const app = { app: w.name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: w.name, namespace: w.namespace, labels: { ...app } },
    spec: {
      replicas: w.replicas,
      selector: { matchLabels: { ...app } },
      template: {
        metadata: { labels: { ...app } },
        spec: {
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { ...app } }, topologyKey: 'kubernetes.io/hostname' } },
              ],
            },
          },
          containers: [container(w.name)],
        },
      },
    },
  };
}
