// The in-memory producer: appends records to partition logs (all or none of a call) and acknowledges at once.

import type { OutgoingRecord, ProducerPort } from '../port.js';
import type { MemoryKafkaCluster } from './cluster.js';
import { ClientLifecycle } from './lifecycle.js';
import { DefaultPartitioner, recordLastOffset } from './partitioner.js';

export class MemoryProducer implements ProducerPort {
  private readonly lifecycle = new ClientLifecycle('producer', 'producer');
  private readonly partitioner = new DefaultPartitioner();

  constructor(private readonly cluster: MemoryKafkaCluster) {
    cluster.register(this.lifecycle);
  }

  async connect(): Promise<void> {
    await this.cluster.faults.apply('connect', ['producer']);
    this.lifecycle.connect();
  }

  /** Resolves with the offset of the last record written to every partition it wrote to. */
  async send(records: OutgoingRecord[]): Promise<Map<string, bigint>> {
    this.lifecycle.assertConnected();
    const last = new Map<string, bigint>();
    if (records.length === 0) return last;
    await this.cluster.faults.apply('produce', [...new Set(records.map((r) => r.topic))]);
    this.lifecycle.assertConnected();
    const placed = this.partitioner.place(this.cluster, records);
    for (const p of placed) recordLastOffset(last, p, p.log.append(p.record));
    this.cluster.notify();
    return last;
  }

  async close(): Promise<void> {
    if (this.lifecycle.close()) this.cluster.touch();
  }
}
