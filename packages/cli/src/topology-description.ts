// A topology as data: its subtopologies' sources, processors, stores and sinks, and the internal topics it needs.
import type { Topology } from '@eddy/streams';
import { changelogTopicSpecs } from '@eddy/streams/internals';

export interface TopologyDescription {
  applicationId: string;
  subtopologies: {
    id: number;
    sources: { name: string; topics: string[] }[];
    processors: { name: string; stores: string[] }[];
    sinks: { name: string; topic: string | null }[];
    stores: string[];
  }[];
  globalStores: { name: string; topic: string }[];
  sourceTopics: string[];
  sinkTopics: string[];
  repartitionTopics: { topic: string; partitions: number | null; writers: number[]; reader: number }[];
  changelogTopics: { topic: string; store: string; subtopology: number; config: Record<string, string> }[];
  /** Topology.describe()'s text. */
  text: string;
}

/** Describes `topology` with internal topic names of `applicationId`. Seals it: it cannot change afterwards. */
export function describeTopology(topology: Topology, applicationId: string): TopologyDescription {
  const text = topology.describe();
  const sealed = topology.seal(applicationId);
  const subtopologies = sealed.subtopologies.map((sub) => ({
    id: sub.id,
    sources: sub.nodes.flatMap((n) => (n.kind === 'source' ? [{ name: n.name, topics: n.topics }] : [])),
    processors: sub.nodes.flatMap((n) =>
      n.kind === 'processor'
        ? [{ name: n.name, stores: sub.stores.filter((s) => s.processors.has(n.name)).map((s) => s.name) }]
        : [],
    ),
    sinks: sub.nodes.flatMap((n) =>
      n.kind === 'sink' ? [{ name: n.name, topic: typeof n.topic === 'string' ? n.topic : null }] : [],
    ),
    stores: sub.stores.map((s) => s.name),
  }));
  const changelogTopics = sealed.subtopologies.flatMap((sub) =>
    sub.stores.flatMap((store) =>
      // No spec: the store is not logged. The partition count is known only against the cluster; 1 is a placeholder.
      changelogTopicSpecs(applicationId, [store], 1).map((spec) => ({
        topic: spec.topic,
        store: store.name,
        subtopology: sub.id,
        config: spec.config ?? {},
      })),
    ),
  );
  return {
    applicationId,
    subtopologies,
    globalStores: sealed.globalStores.map((g) => ({ name: g.name, topic: g.topic })),
    sourceTopics: topology.sourceTopics(),
    sinkTopics: topology.sinkTopics(),
    repartitionTopics: sealed.repartitionTopics.map((r) => ({
      topic: r.topic,
      partitions: r.partitions ?? null,
      writers: r.writers,
      reader: r.reader,
    })),
    changelogTopics,
    text,
  };
}
