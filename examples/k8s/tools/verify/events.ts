// Reads the controllers' behaviour out of a pod watch: creation against readiness, and the order of replacement.
import type { WatchEvent } from './api.js';

/** The fields of a pod the checks read. */
export interface Pod {
  metadata: { name: string; uid: string; creationTimestamp?: string; deletionTimestamp?: string };
  spec: {
    nodeName?: string;
    hostname?: string;
    subdomain?: string;
    containers: { image: string }[];
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}

export const isReady = (p: Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** The ordinal at the end of each `<set>-<ordinal>` name. */
export const ordinalsFrom = (names: string[]): number[] =>
  names.map((n) => Number(n.slice(n.lastIndexOf('-') + 1)));

const ownPod = (set: string) => {
  const own = new RegExp(`^${set}-\\d+$`);
  return (e: WatchEvent) =>
    e.type !== 'BOOKMARK' && e.type !== 'ERROR' && own.test(e.object?.metadata?.name ?? '');
};

/**
 * Whether every pod of the set was created before any of them became Ready, from the first creation on: with
 * `OrderedReady` a pod is created only once the previous one is Ready, so this fails.
 */
export function parallelStart(
  events: WatchEvent[],
  set: string,
): { created: string[]; order: string[]; allCreatedBeforeReady: boolean } {
  const created: string[] = [];
  const ready = new Set<string>();
  const order: string[] = [];
  let readyBeforeAllCreated = false;
  for (const e of events.filter(ownPod(set))) {
    const name: string = e.object.metadata.name;
    if (e.type === 'ADDED' && !created.includes(name)) {
      if (ready.size > 0) readyBeforeAllCreated = true;
      created.push(name);
      order.push(`created ${name}`);
    }
    if (e.type !== 'DELETED' && isReady(e.object) && !ready.has(name)) {
      ready.add(name);
      order.push(`Ready ${name}`);
    }
  }
  return { created, order, allCreatedBeforeReady: created.length > 0 && !readyBeforeAllCreated };
}

/** The set's pods in the order the controller began to delete them (deletion requested, or removed outright). */
export function replacementOrder(events: WatchEvent[], set: string): string[] {
  const order: string[] = [];
  for (const e of events.filter(ownPod(set))) {
    const name: string = e.object.metadata.name;
    const deleting = e.type === 'DELETED' || e.object.metadata.deletionTimestamp !== undefined;
    if (deleting && !order.includes(name)) order.push(name);
  }
  return order;
}
