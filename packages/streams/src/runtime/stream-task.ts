// A stream task: the topology's nodes instantiated for one partition number, processing its records synchronously.
import { describePosition, type RecordPosition, StreamsError } from '../errors.js';
import type { ConsumedRecord } from '../kafka/port.js';
import type { Processor, ProcessorContext, StreamRecord } from '../topology/processor.js';
import type { NodeSpec } from '../topology/topology.js';
import type { RecordCollector } from './record-collector.js';

type Forward = (record: StreamRecord<unknown, unknown>) => void;

interface SourceNode {
  spec: Extract<NodeSpec, { kind: 'source' }>;
  forward: Forward;
}

export interface TaskGraph {
  nodes: NodeSpec[];
  children: ReadonlyMap<string, string[]>;
}

export class StreamTask {
  readonly id: string;
  private readonly sources = new Map<string, SourceNode>();
  private readonly processors: Processor<unknown, unknown, unknown, unknown>[] = [];
  private readonly position: RecordPosition = { topic: '', partition: -1, offset: '-1' };
  private commitRequested = false;
  private closed = false;

  constructor(
    readonly applicationId: string,
    readonly partition: number,
    graph: TaskGraph,
    private readonly collector: RecordCollector,
  ) {
    this.id = `0_${partition}`;
    const forwards = new Map<string, Forward>();
    // Nodes are declared parents-first; wire them children-first so each forward closure exists when needed.
    for (const spec of [...graph.nodes].reverse()) {
      const kids = (graph.children.get(spec.name) ?? []).map((k) => ({ name: k, forward: forwards.get(k)! }));
      const toChildren: Forward = (r) => {
        for (const kid of kids) kid.forward(r);
      };
      if (spec.kind === 'source') {
        for (const topic of spec.topics) this.sources.set(topic, { spec, forward: toChildren });
      } else if (spec.kind === 'sink') {
        forwards.set(spec.name, (r) => this.sink(spec, r));
      } else {
        const processor = spec.supplier();
        const context = this.contextFor(kids);
        processor.init?.(context);
        this.processors.push(processor);
        forwards.set(spec.name, (r) => processor.process(r));
      }
    }
  }

  /** Processes one input record through the topology. Throws a StreamsError naming the record on failure. */
  process(topic: string, partition: number, record: ConsumedRecord): void {
    const pos = this.position;
    pos.topic = topic;
    pos.partition = partition;
    pos.offset = record.offset;
    const source = this.sources.get(topic);
    if (!source) throw new StreamsError('ILLEGAL_STATE', `task ${this.id} has no source for topic ${topic}`);
    let key: unknown;
    let value: unknown;
    try {
      key = source.spec.keySerde.deserialize(record.key);
      value = source.spec.valueSerde.deserialize(record.value);
    } catch (cause) {
      throw new StreamsError(
        'DESERIALIZATION_FAILED',
        `record ${describePosition(pos)} could not be deserialized by source "${source.spec.name}": ${String(cause)}`,
        { cause, position: { ...pos } },
      );
    }
    try {
      source.forward({ key, value, timestamp: record.timestamp, headers: record.headers });
    } catch (cause) {
      if (cause instanceof StreamsError) throw cause;
      throw new StreamsError(
        'PROCESSING_FAILED',
        `processing record ${describePosition(pos)} failed: ${String(cause)}`,
        {
          cause,
          position: { ...pos },
        },
      );
    }
  }

  /** True once, after a processor asked for a commit. */
  takeCommitRequest(): boolean {
    const r = this.commitRequested;
    this.commitRequested = false;
    return r;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.processors) p.close?.();
  }

  private sink(spec: Extract<NodeSpec, { kind: 'sink' }>, r: StreamRecord<unknown, unknown>): void {
    let key: Buffer | null;
    let value: Buffer | null;
    try {
      key = spec.keySerde.serialize(r.key);
      value = spec.valueSerde.serialize(r.value);
    } catch (cause) {
      throw new StreamsError(
        'SERIALIZATION_FAILED',
        `sink "${spec.name}" could not serialize the output of ${describePosition(this.position)}: ${String(cause)}`,
        { cause, position: { ...this.position } },
      );
    }
    this.collector.add({ topic: spec.topic, key, value, timestamp: r.timestamp, headers: r.headers });
  }

  private contextFor(kids: { name: string; forward: Forward }[]): ProcessorContext {
    const task = this;
    return {
      applicationId: this.applicationId,
      taskId: this.id,
      get topic() {
        return task.position.topic;
      },
      get partition() {
        return task.position.partition;
      },
      get offset() {
        return task.position.offset;
      },
      forward(record, childName) {
        if (childName === undefined) {
          for (const kid of kids) kid.forward(record);
          return;
        }
        const kid = kids.find((k) => k.name === childName);
        if (!kid) throw new StreamsError('INVALID_TOPOLOGY', `forward to unknown child "${childName}"`);
        kid.forward(record);
      },
      requestCommit() {
        task.commitRequested = true;
      },
    };
  }
}
