// Splits a V8 CPU profile (self time) or sampling heap profile (allocated bytes) into the categories of the
// profile benchmark, by the file and function name of each frame; frames without a category of their own (native
// code, Node internals, shared helpers) count for the nearest caller that has one.

export const CATEGORIES = [
  'fetch decoding',
  'deserialization',
  'processing',
  'store and cache',
  'changelog and output',
  'produce encoding',
  'commit',
  'runtime',
  'client other',
  'gc',
  'idle',
  'other',
] as const;

export type Category = (typeof CATEGORIES)[number];

export interface CallFrame {
  functionName: string;
  url: string;
}

interface CpuNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** What the chart and the README explain each category to hold. */
export const CATEGORY_NOTES: Record<Category, string> = {
  'fetch decoding': "kafkajs' fetch response and record batch decoders, its consumer's batch filtering",
  deserialization: 'the serdes turning fetched bytes into keys and values (the baseline: its own toString)',
  processing:
    'the topology (packages/streams/src/topology: sources, aggregate, table emitter, mapValues, sinks); the baseline: its loop',
  'store and cache': '@eddy/state (metered, caching, engine layers, task state), classic-level',
  'changelog and output':
    'serializing outputs and changelog records, the change-logging layer, the record collector, the adapter turning records into kafkajs messages',
  'produce encoding': "kafkajs' producer: partitioner, grouping, record batch and produce request encoders",
  commit: "the runtime's commit (packages/streams/src/runtime/commit), kafkajs' offset commit",
  runtime:
    "the rest of Eddy's runtime: stream thread, task, partition group, the adapter's fetched-record conversion",
  'client other': 'the rest of kafkajs: connections, request queue, consumer runner, group',
  gc: 'garbage collection',
  idle: 'waiting for the broker',
  other: 'Node internals and native code not reached from a categorized frame, the profiler',
};

/** The category a frame has on its own; undefined when it takes its caller's. */
export function categoryOf(frame: CallFrame): Category | undefined {
  const { url, functionName: fn } = frame;
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)' || fn === '(root)') return 'other';
  // The profiler's own work when it stops (the inspector session).
  if (url.startsWith('node:inspector')) return 'other';
  if (url === '' || url.startsWith('node:')) return undefined;
  const kafkajs = url.indexOf('/kafkajs/src/');
  if (kafkajs >= 0) {
    const path = url.slice(kafkajs + '/kafkajs/src/'.length);
    // Shared by decoding and encoding: they count for their caller.
    if (/^utils\/(long|crc32|murmur2)|^protocol\/(crc32|timestampTypes|attributes)/.test(path)) {
      return undefined;
    }
    if (path.startsWith('protocol/requests/fetch/') || /decoder\.js$/.test(path)) return 'fetch decoding';
    if (path.startsWith('producer/') || path.startsWith('protocol/recordBatch/')) return 'produce encoding';
    if (path.startsWith('protocol/requests/produce/') || /encoder\.js$/.test(path)) return 'produce encoding';
    if (path.startsWith('consumer/batch.js')) return 'fetch decoding';
    if (path.startsWith('protocol/requests/offsetCommit/')) return 'commit';
    return 'client other';
  }
  if (/\/(classic-level|abstract-level|level-transcoder|level-supports|module-error)\//.test(url)) {
    return 'store and cache';
  }
  if (url.includes('/packages/streams/src/serdes/') || url.includes('/packages/state/src/api/serde')) {
    return /deserialize|decode|fromBytes/i.test(fn) ? 'deserialization' : 'changelog and output';
  }
  if (
    url.includes('/packages/state/src/layers/change-logging') ||
    url.includes('/packages/state/src/task/changelog')
  ) {
    return 'changelog and output';
  }
  if (url.includes('/packages/state/src/')) return 'store and cache';
  if (url.includes('/packages/streams/src/runtime/commit/')) return 'commit';
  if (url.includes('/packages/streams/src/runtime/record-collector')) return 'changelog and output';
  if (url.includes('/packages/streams/src/kafka/kafkajs/')) {
    if (fn === 'toConsumed' || fn === 'toHeaders' || fn === 'eachBatch') return 'runtime';
    if (url.endsWith('consumer.ts') && /commit/i.test(fn)) return 'commit';
    return 'changelog and output';
  }
  if (url.includes('/packages/streams/src/topology/')) return 'processing';
  if (url.includes('/packages/streams/src/runtime/stream-task') && fn === 'sink')
    return 'changelog and output';
  if (url.includes('/packages/streams/src/')) return 'runtime';
  if (url.includes('/benchmarks/')) return 'processing';
  return undefined;
}

/** Self time per category, in ms. */
export function cpuBreakdown(profile: CpuProfile): Map<Category, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const category = new Map<number, Category>();
  const root = profile.nodes[0]!;
  const stack: [CpuNode, Category][] = [[root, categoryOf(root.callFrame) ?? 'other']];
  while (stack.length > 0) {
    const [node, inherited] = stack.pop()!;
    const own = categoryOf(node.callFrame) ?? inherited;
    category.set(node.id, own);
    for (const child of node.children ?? []) stack.push([byId.get(child)!, own]);
  }
  const out = new Map<Category, number>(CATEGORIES.map((c) => [c, 0]));
  for (let i = 0; i < profile.samples.length; i++) {
    const c = category.get(profile.samples[i]!) ?? 'other';
    // The delta before sample i+1 is the time sample i stood for.
    const us = profile.timeDeltas[i + 1] ?? 0;
    out.set(c, out.get(c)! + us / 1000);
  }
  return out;
}

/** Sampled allocated bytes per category, in MB. */
export function heapBreakdown(head: HeapNode): Map<Category, number> {
  const out = new Map<Category, number>(CATEGORIES.map((c) => [c, 0]));
  const stack: [HeapNode, Category][] = [[head, 'other']];
  while (stack.length > 0) {
    const [node, inherited] = stack.pop()!;
    const own = categoryOf(node.callFrame) ?? inherited;
    out.set(own, out.get(own)! + node.selfSize / 1e6);
    for (const child of node.children) stack.push([child, own]);
  }
  return out;
}
