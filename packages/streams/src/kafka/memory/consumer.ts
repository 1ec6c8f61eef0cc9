// The in-memory group consumer: joins its group through the group coordinator, fetches its assigned partitions
// one batch at a time, rejoins on rebalances (after the running batch), and commits offsets with generation checks.

import { StreamsError } from '../../errors.js';
import type {
  BatchControl,
  BatchHandler,
  ConsumedRecord,
  ConsumerGroupMetadata,
  ConsumerOptions,
  ConsumerPort,
  GroupProtocol,
  TopicPartitionOffset,
} from '../port.js';
import type { MemoryKafkaCluster } from './cluster.js';
import { isRebalanceError, type KafkaErrorType, kafkaError, MemoryKafkaError } from './errors.js';
import type { GroupClient, GroupCoordinator } from './group-coordinator.js';
import { ClientLifecycle } from './lifecycle.js';
import type { Isolation, PartitionLog } from './partition-log.js';
import { roundRobinProtocol } from './round-robin-protocol.js';
import { nextMacrotask, Signal } from './signal.js';

interface TopicPartition {
  topic: string;
  partition: number;
}

interface Fetched {
  tp: TopicPartition;
  /** Empty when the fetch found nothing new: the partition is caught up. */
  records: ConsumedRecord[];
  /** Where the fetch started. */
  from: bigint;
  /** The offset after the last log entry the fetch looked at (markers and aborted records included). */
  next: bigint;
  /** The partition's high watermark as of the fetch. */
  highWatermark: bigint;
}

const keyOf = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;

/** Errors of a heartbeat after which the member's work is no longer its own. */
const LOST: ReadonlySet<KafkaErrorType> = new Set([
  'UNKNOWN_MEMBER_ID',
  'FENCED_INSTANCE_ID',
  'ILLEGAL_GENERATION',
]);

export class MemoryConsumer implements ConsumerPort, GroupClient {
  private readonly lifecycle: ClientLifecycle;
  private readonly group: GroupCoordinator;
  private readonly protocol: GroupProtocol;
  private readonly isolation: Isolation;
  private readonly signal = new Signal();
  private subscribed: string[] = [];
  private memberId = '';
  private generationId = -1;
  private assigned: TopicPartition[] = [];
  private readonly positions = new Map<string, bigint>();
  /**
   * Per partition, the position and high watermark last reported by an empty batch. kafkajs reports a caught-up
   * partition at every fetch (several times a second); this consumer reports it once per change, which tells the
   * runtime the same without a busy loop.
   */
  private readonly reportedEnds = new Map<string, { position: bigint; highWatermark: bigint }>();
  private nextPartition = 0;
  /** `topic:partition` of the partitions not fetched until resumed. */
  private readonly paused = new Set<string>();
  private phase: 'stopped' | 'joining' | 'idle' | 'fetching' | 'handler' = 'stopped';
  private running = false;
  private stopping = false;
  private stalled = false;
  private rejoinRequested = false;
  private loopDone: Promise<void> | undefined;
  private stopped: { promise: Promise<undefined>; resolve: () => void } = stopSignal();
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly cluster: MemoryKafkaCluster,
    private readonly options: ConsumerOptions,
  ) {
    this.lifecycle = new ClientLifecycle('consumer', options.groupId);
    cluster.register(this.lifecycle);
    this.group = cluster.group(options.groupId);
    this.protocol = options.protocol ?? roundRobinProtocol(() => this.subscribed);
    this.isolation = options.readCommitted ? 'read_committed' : 'read_uncommitted';
  }

  get topics(): readonly string[] {
    return this.subscribed;
  }

  /** The group position of the latest join (generation -1 and no member id before the first). */
  groupMetadata(): ConsumerGroupMetadata {
    return {
      groupId: this.options.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      ...(this.options.groupInstanceId === undefined
        ? {}
        : { groupInstanceId: this.options.groupInstanceId }),
    };
  }

  async connect(): Promise<void> {
    await this.cluster.faults.apply('connect', [this.options.groupId]);
    this.lifecycle.connect();
  }

  async subscribe(topics: string[]): Promise<void> {
    this.lifecycle.assertConnected();
    for (const t of topics) this.cluster.topic(t);
    this.subscribed = [...topics];
  }

  /**
   * Joins the group and resolves once the first assignment arrived (or the consumer failed or was stopped
   * meanwhile); then fetches in the background, one batch at a time, until stopped.
   */
  async run(handler: BatchHandler): Promise<void> {
    this.lifecycle.assertConnected();
    if (this.subscribed.length === 0) throw new Error('subscribe before run');
    if (this.running) throw new Error(`the consumer of group ${this.options.groupId} is already running`);
    this.running = true;
    this.stopping = false;
    this.stopped = stopSignal();
    this.unwatch = this.cluster.watch(() => this.wake());
    let joined: () => void = () => undefined;
    const first = new Promise<void>((resolve) => {
      joined = resolve;
    });
    this.loopDone = this.loop(handler, joined).finally(() => {
      this.running = false;
      this.phase = 'stopped';
      this.unwatch?.();
      joined();
      this.cluster.touch();
    });
    await first;
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    this.lifecycle.assertConnected();
    if (offsets.length === 0) return;
    try {
      await this.cluster.faults.apply('commit', [this.options.groupId]);
      for (const o of offsets) this.cluster.partition(o.topic, o.partition);
      this.group.commitOffsets(this.memberId, this.memberId === '' ? -1 : this.generationId, offsets);
    } catch (err) {
      if (err instanceof MemoryKafkaError && isRebalanceError(err)) {
        throw new StreamsError(
          'TASK_MIGRATED',
          `the group rebalanced during an offset commit (${err.type})`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  /** Stops fetching, waits for the running batch, and leaves the group unless `leaveGroup` is false. */
  async stop(options: { leaveGroup?: boolean } = {}): Promise<void> {
    this.stopping = true;
    this.stopped.resolve();
    this.wake();
    await this.loopDone;
    if (options.leaveGroup !== false && this.memberId !== '') {
      this.group.leave(this.memberId);
      this.memberId = '';
    }
  }

  async close(options: { leaveGroup?: boolean } = {}): Promise<void> {
    if (this.lifecycle.closed) return;
    await this.stop(options);
    await this.cluster.faults.apply('close', [this.options.groupId]);
    this.lifecycle.close();
    this.cluster.touch();
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.add(keyOf(tp));
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(keyOf(tp));
    this.wake();
  }

  requestRejoin(): void {
    this.rejoinRequested = true;
    this.wake();
  }

  /** GroupClient: the fetch loop heartbeats between batches; inside one, only `control.heartbeat()` does. */
  heartbeating(): boolean {
    return this.running && !this.stalled && this.phase !== 'handler';
  }

  wake(): void {
    this.signal.wake();
  }

  setStalled(stalled: boolean): void {
    this.stalled = stalled;
    this.wake();
  }

  private async loop(handler: BatchHandler, joined: () => void): Promise<void> {
    if (!(await this.join())) return;
    joined();
    while (!this.stopping) {
      this.cluster.touch();
      if (this.stalled) {
        await this.idle();
        continue;
      }
      const problem = this.heartbeat();
      if (problem === 'FENCED_INSTANCE_ID') {
        this.crash(
          kafkaError(problem, `member ${this.memberId} of group ${this.options.groupId} was fenced`),
        );
        return;
      }
      if (problem !== undefined || this.rejoinRequested) {
        if (problem === 'UNKNOWN_MEMBER_ID') this.memberId = '';
        this.rejoinRequested = false;
        await this.options.beforeRejoin?.().catch(() => undefined);
        if (!(await this.join())) return;
        continue;
      }
      const batch = this.fetch();
      if (batch === undefined) {
        await this.idle();
        continue;
      }
      if (!(await this.process(handler, batch))) return;
      await nextMacrotask();
    }
  }

  private heartbeat(): KafkaErrorType | undefined {
    if (this.memberId === '') return 'UNKNOWN_MEMBER_ID';
    try {
      this.group.heartbeat(this.memberId, this.generationId);
      return undefined;
    } catch (err) {
      if (err instanceof MemoryKafkaError) return err.type;
      throw err;
    }
  }

  private async idle(): Promise<void> {
    this.phase = 'idle';
    await this.signal.wait();
    this.phase = 'fetching';
  }

  /** Joins (or rejoins) the group; false when the consumer stopped or failed meanwhile. */
  private async join(): Promise<boolean> {
    this.phase = 'joining';
    try {
      await this.cluster.faults.apply('join', [this.options.groupId]);
      if (this.stopping) return false;
      const joining = this.group.join({
        memberId: this.memberId,
        groupInstanceId: this.options.groupInstanceId,
        protocol: this.protocol,
        subscription: this.protocol.subscription(),
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        client: this,
      });
      this.memberId = joining.memberId;
      joining.result.catch(() => undefined);
      const result = await Promise.race([joining.result, this.stopped.promise]);
      if (result === undefined || this.stopping) return false;
      this.memberId = result.memberId;
      this.generationId = result.generationId;
      this.assigned = (result.plan?.partitions ?? []).map((tp) => ({
        topic: tp.topic,
        partition: tp.partition,
      }));
      // As after an eager rebalance in Kafka clients: every partition starts again from its committed offset.
      this.positions.clear();
      this.reportedEnds.clear();
      for (const tp of this.assigned) {
        const position = this.startPosition(tp);
        if (position !== undefined) this.positions.set(keyOf(tp), position);
      }
      this.phase = 'fetching';
      this.options.onGroupJoin?.({
        assigned: this.assigned.map((tp) => ({ ...tp })),
        generationId: result.generationId,
        memberId: result.memberId,
        userData: result.plan?.userData ?? null,
      });
      return true;
    } catch (err) {
      if (this.stopping) return false;
      if (err instanceof MemoryKafkaError && err.type === 'UNKNOWN_MEMBER_ID') {
        this.memberId = '';
        return this.join();
      }
      this.crash(err);
      return false;
    }
  }

  /** The committed offset, or (none, or out of the log's range) the start the reset policy picks. */
  private startPosition(tp: TopicPartition): bigint | undefined {
    if (!this.cluster.hasTopic(tp.topic) || tp.partition >= this.cluster.partitionCount(tp.topic))
      return undefined;
    const log = this.cluster.partition(tp.topic, tp.partition);
    const committed = this.group.committed(tp.topic, tp.partition);
    if (committed !== undefined && committed >= log.logStartOffset && committed <= log.highWatermark) {
      return committed;
    }
    return this.resetPosition(log);
  }

  private resetPosition(log: PartitionLog): bigint {
    return this.options.fromBeginning ? log.logStartOffset : log.endFor(this.isolation);
  }

  /**
   * The next batch, taking the assigned partitions in turn: records, or, for a partition with nothing to read whose
   * position or high watermark changed since it was last reported, an empty batch; undefined when there is neither.
   */
  private fetch(): Fetched | undefined {
    const n = this.assigned.length;
    for (let i = 0; i < n; i++) {
      const tp = this.assigned[(this.nextPartition + i) % n]!;
      const key = keyOf(tp);
      let position = this.positions.get(key);
      if (position === undefined || this.paused.has(key)) continue;
      const log = this.cluster.partition(tp.topic, tp.partition);
      if (position < log.logStartOffset || position > log.highWatermark) {
        // OFFSET_OUT_OF_RANGE (e.g. records deleted under the position): the reset policy applies.
        position = this.resetPosition(log);
        this.positions.set(key, position);
      }
      const read = log.read(position, this.cluster.maxBatchRecords, this.isolation);
      const highWatermark = log.highWatermark;
      if (read.records.length === 0) {
        // Nothing to hand over; markers and aborted records are skipped (kafkajs resolves them itself).
        if (read.next !== position) this.positions.set(key, read.next);
        if (this.options.emptyBatches !== true) continue;
        const reported = this.reportedEnds.get(key);
        if (reported?.position === read.next && reported.highWatermark === highWatermark) continue;
        this.reportedEnds.set(key, { position: read.next, highWatermark });
        this.nextPartition = (this.nextPartition + i + 1) % n;
        return { tp, records: [], from: position, next: read.next, highWatermark };
      }
      this.reportedEnds.delete(key);
      this.nextPartition = (this.nextPartition + i + 1) % n;
      return { tp, records: read.records, from: position, next: read.next, highWatermark };
    }
    return undefined;
  }

  /** Runs the handler on a batch; false when the consumer failed. */
  private async process(handler: BatchHandler, batch: Fetched): Promise<boolean> {
    const generation = this.generationId;
    const key = keyOf(batch.tp);
    const last = batch.records[batch.records.length - 1];
    const lastOffset = last === undefined ? batch.next - 1n : BigInt(last.offset);
    const current = () => this.generationId === generation && this.positions.has(key);
    const control: BatchControl = {
      heartbeat: async () => {
        if (this.stalled) return;
        this.group.heartbeat(this.memberId, generation);
      },
      markConsumed: (offset) => {
        if (!current()) return;
        const marked = BigInt(offset);
        this.positions.set(key, marked >= lastOffset ? batch.next : marked + 1n);
      },
      isActive: () => {
        if (!this.running || this.stopping || !current()) return false;
        const problem = this.group.check(this.memberId, generation);
        return problem === undefined || !LOST.has(problem);
      },
    };
    this.phase = 'handler';
    try {
      // As kafkajs reports them: an empty fetch's last offset is the high watermark - 1.
      const covered = batch.records.length === 0 ? batch.highWatermark - 1n : batch.next - 1n;
      await handler(
        {
          topic: batch.tp.topic,
          partition: batch.tp.partition,
          records: batch.records,
          highWatermark: batch.highWatermark.toString(),
          lastOffset: covered.toString(),
          ...(batch.next > batch.from ? { fetchedThrough: (batch.next - 1n).toString() } : {}),
        },
        control,
      );
    } catch (err) {
      // A rebalance error thrown from the batch (e.g. by heartbeat()) means: rejoin, as kafkajs does.
      if (!isRebalanceError(err)) {
        this.crash(err);
        return false;
      }
    } finally {
      this.phase = 'fetching';
      this.cluster.touch();
    }
    return true;
  }

  /**
   * The client fails on its own: it leaves the group (as kafkajs disconnects) and reports the error. A fenced
   * member keeps its id, so its later calls fail with FENCED_INSTANCE_ID too.
   */
  private crash(error: unknown): void {
    const fenced = error instanceof MemoryKafkaError && error.type === 'FENCED_INSTANCE_ID';
    if (!fenced && this.memberId !== '') {
      this.group.leave(this.memberId);
      this.memberId = '';
    }
    this.stopping = true;
    this.options.onCrash?.(error);
  }
}

function stopSignal(): { promise: Promise<undefined>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<undefined>((r) => {
    resolve = () => r(undefined);
  });
  return { promise, resolve };
}
