// The group coordinator of the in-memory Kafka: members, generations, eager rebalances led by the first member
// to join, static membership, session and rebalance timeouts, and the group's committed offsets.

import type { GroupProtocol, MemberPlan, TopicPartitionOffset } from '../port.js';
import { type KafkaErrorType, kafkaError } from './errors.js';

/** What the coordinator needs of the cluster. */
export interface GroupContext {
  now(): number;
  /** The topic's partition count, 0 when it does not exist. */
  partitionCount(topic: string): number;
  rebalanceTimeoutMs: number;
  /** Records progress, for `settle()`. */
  touch(): void;
}

/** The coordinator's view of a member's client. */
export interface GroupClient {
  /** Whether the client heartbeats on its own right now (its fetch loop runs, it is not inside a batch). */
  heartbeating(): boolean;
  /** Asks the client to look at its membership: a rebalance started, or it was fenced or removed. */
  wake(): void;
  /** The topics it subscribes to, so a partition count change of one of them rebalances the group. */
  readonly topics: readonly string[];
  /** Pauses or resumes the client as if its process were stopped: no fetching, no heartbeats. */
  setStalled(stalled: boolean): void;
}

export interface JoinRequest {
  /** Empty for a member that joins for the first time (or lost its membership). */
  memberId: string;
  groupInstanceId?: string | undefined;
  protocol: GroupProtocol;
  subscription: Buffer;
  sessionTimeoutMs: number;
  client: GroupClient;
}

export interface JoinResult {
  memberId: string;
  generationId: number;
  /** The leader's plan for this member; undefined when the leader gave it none. */
  plan: MemberPlan | undefined;
  leader: boolean;
}

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

/** A snapshot of a group, for tests. */
export interface GroupDescription {
  state: GroupState;
  generationId: number;
  leader: string | undefined;
  members: {
    memberId: string;
    groupInstanceId: string | undefined;
    assigned: { topic: string; partition: number }[];
  }[];
}

interface PendingJoin {
  order: number;
  resolve: (result: JoinResult) => void;
  reject: (err: unknown) => void;
}

interface Member {
  memberId: string;
  groupInstanceId: string | undefined;
  protocol: GroupProtocol;
  subscription: Buffer;
  sessionTimeoutMs: number;
  lastHeartbeat: number;
  client: GroupClient;
  plan: MemberPlan | undefined;
  pending: PendingJoin | undefined;
}

export class GroupCoordinator {
  private readonly members = new Map<string, Member>();
  /** Member ids of static members replaced by a newer member with the same instance id. */
  private readonly fenced = new Set<string>();
  private readonly offsets = new Map<string, bigint>();
  private state: GroupState = 'Empty';
  private generation = 0;
  private leaderId: string | undefined;
  private rebalanceStartedAt = 0;
  /** A rebalance was asked for while the leader was assigning: start another when it is done. */
  private rebalanceAgain = false;
  private joinOrder = 0;
  private memberSeq = 0;

  constructor(
    readonly groupId: string,
    private readonly context: GroupContext,
  ) {}

  get generationId(): number {
    return this.generation;
  }

  describe(): GroupDescription {
    return {
      state: this.state,
      generationId: this.generation,
      leader: this.leaderId,
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        assigned: [...(m.plan?.partitions ?? [])],
      })),
    };
  }

  /**
   * JoinGroup and SyncGroup in one. The member id is known at once (as a client learns it from Kafka's
   * MEMBER_ID_REQUIRED answer, so it can leave while it waits); `result` resolves once the rebalance this join
   * takes part in completes.
   */
  join(request: JoinRequest): { memberId: string; result: Promise<JoinResult> } {
    this.context.touch();
    const other = [...this.members.values()].find((m) => m.memberId !== request.memberId);
    if (other !== undefined && other.protocol.name !== request.protocol.name) {
      throw kafkaError(
        'INCONSISTENT_GROUP_PROTOCOL',
        `group ${this.groupId} uses protocol ${other.protocol.name}, not ${request.protocol.name}`,
      );
    }
    let member: Member | undefined;
    if (request.memberId !== '') {
      this.assertMember(request.memberId);
      member = this.members.get(request.memberId)!;
      const changed = !member.subscription.equals(request.subscription);
      this.update(member, request);
      // Kafka: a known member rejoining a stable group rebalances it only if it leads or its metadata changed.
      if (this.state === 'Stable' && !changed && this.leaderId !== member.memberId) {
        return { memberId: member.memberId, result: Promise.resolve(this.resultFor(member)) };
      }
      this.triggerRebalance();
    } else {
      const previous =
        request.groupInstanceId === undefined
          ? undefined
          : [...this.members.values()].find((m) => m.groupInstanceId === request.groupInstanceId);
      if (previous !== undefined) {
        member = this.replaceStatic(previous, request);
        // A static member that comes back takes over its assignment without a rebalance (KIP-345).
        if (this.state === 'Stable')
          return { memberId: member.memberId, result: Promise.resolve(this.resultFor(member)) };
      } else {
        member = this.add(request);
        this.triggerRebalance();
      }
    }
    const joining = member;
    const result = new Promise<JoinResult>((resolve, reject) => {
      joining.pending = { order: this.joinOrder++, resolve, reject };
    });
    this.tryComplete();
    return { memberId: joining.memberId, result };
  }

  /** Heartbeat: keeps the session alive; fails when the member must rejoin or is gone. */
  heartbeat(memberId: string, generationId: number): void {
    const member = this.members.get(memberId);
    if (member !== undefined) member.lastHeartbeat = this.context.now();
    const problem = this.check(memberId, generationId);
    if (problem !== undefined) throw kafkaError(problem, `heartbeat of ${memberId} in group ${this.groupId}`);
  }

  /** What a heartbeat of this member would answer, without counting as one. */
  check(memberId: string, generationId: number): KafkaErrorType | undefined {
    if (this.fenced.has(memberId)) return 'FENCED_INSTANCE_ID';
    if (!this.members.has(memberId)) return 'UNKNOWN_MEMBER_ID';
    if (this.state === 'PreparingRebalance' || this.state === 'CompletingRebalance')
      return 'REBALANCE_IN_PROGRESS';
    if (generationId !== this.generation) return 'ILLEGAL_GENERATION';
    return undefined;
  }

  /** LeaveGroup. A no-op for a member that is not (or no longer) in the group. */
  leave(memberId: string): void {
    const member = this.members.get(memberId);
    if (member === undefined) return;
    this.remove(member, 'UNKNOWN_MEMBER_ID');
  }

  /** A rebalance asked for from outside the group (a test, or a partition count change). */
  triggerRebalance(): void {
    this.context.touch();
    if (this.state === 'PreparingRebalance') return;
    if (this.state === 'CompletingRebalance') {
      this.rebalanceAgain = true;
      return;
    }
    if (this.members.size === 0) {
      this.state = 'Empty';
      return;
    }
    this.state = 'PreparingRebalance';
    this.rebalanceStartedAt = this.context.now();
    for (const m of this.members.values()) m.client.wake();
    this.tryComplete();
  }

  /** Rebalances the group if one of its members subscribes to `topic`. */
  topicChanged(topic: string): void {
    if ([...this.members.values()].some((m) => m.client.topics.includes(topic))) this.triggerRebalance();
  }

  /** The client of a member, for pausing it. */
  clientOf(memberId: string): GroupClient {
    const member = this.members.get(memberId);
    if (member === undefined) throw new Error(`group ${this.groupId} has no member ${memberId}`);
    return member.client;
  }

  /**
   * Time passed: members whose clients heartbeat on their own stay, the others are removed once their session
   * timeout has passed; a rebalance that waited longer than the rebalance timeout goes on without the members
   * that did not rejoin.
   */
  tick(now: number): void {
    for (const m of [...this.members.values()]) {
      if (m.pending !== undefined || m.client.heartbeating()) m.lastHeartbeat = now;
      else if (now - m.lastHeartbeat > m.sessionTimeoutMs) this.remove(m, 'UNKNOWN_MEMBER_ID');
    }
    if (
      this.state === 'PreparingRebalance' &&
      now - this.rebalanceStartedAt >= this.context.rebalanceTimeoutMs
    ) {
      for (const m of [...this.members.values()])
        if (m.pending === undefined) this.remove(m, 'UNKNOWN_MEMBER_ID');
      this.tryComplete();
    }
  }

  /** OffsetCommit: from a member of the current generation, or from a client outside any group while it is empty. */
  commitOffsets(memberId: string, generationId: number, offsets: TopicPartitionOffset[]): void {
    this.context.touch();
    if (memberId === '' && generationId < 0) {
      if (this.state !== 'Empty') {
        throw kafkaError('UNKNOWN_MEMBER_ID', `group ${this.groupId} has members: commit as one of them`);
      }
    } else {
      this.assertMember(memberId);
      if (this.state === 'CompletingRebalance') {
        throw kafkaError('REBALANCE_IN_PROGRESS', `group ${this.groupId} is rebalancing`);
      }
      if (generationId !== this.generation) {
        throw kafkaError(
          'ILLEGAL_GENERATION',
          `commit of generation ${generationId}, group ${this.groupId} is at ${this.generation}`,
        );
      }
    }
    this.storeOffsets(offsets);
  }

  /** The check of a TxnOffsetCommit that carries the group metadata (KIP-447): a zombie's commit is refused. */
  checkTransactionalCommit(memberId: string, generationId: number): KafkaErrorType | undefined {
    if (this.fenced.has(memberId)) return 'FENCED_INSTANCE_ID';
    if (memberId !== '' && !this.members.has(memberId)) return 'UNKNOWN_MEMBER_ID';
    if (generationId >= 0 && generationId !== this.generation) return 'ILLEGAL_GENERATION';
    return undefined;
  }

  storeOffsets(offsets: TopicPartitionOffset[]): void {
    for (const o of offsets) this.offsets.set(`${o.topic}:${o.partition}`, BigInt(o.offset));
    this.context.touch();
  }

  committed(topic: string, partition: number): bigint | undefined {
    return this.offsets.get(`${topic}:${partition}`);
  }

  committedOffsets(): Map<string, bigint> {
    return new Map(this.offsets);
  }

  private assertMember(memberId: string): void {
    if (this.fenced.has(memberId)) {
      throw kafkaError(
        'FENCED_INSTANCE_ID',
        `member ${memberId} of group ${this.groupId} was fenced by a newer one`,
      );
    }
    if (!this.members.has(memberId)) {
      throw kafkaError('UNKNOWN_MEMBER_ID', `group ${this.groupId} has no member ${memberId}`);
    }
  }

  private newMemberId(request: JoinRequest): string {
    return `${request.groupInstanceId ?? 'member'}-${++this.memberSeq}`;
  }

  private add(request: JoinRequest): Member {
    const member: Member = {
      memberId: this.newMemberId(request),
      groupInstanceId: request.groupInstanceId,
      protocol: request.protocol,
      subscription: request.subscription,
      sessionTimeoutMs: request.sessionTimeoutMs,
      lastHeartbeat: this.context.now(),
      client: request.client,
      plan: undefined,
      pending: undefined,
    };
    this.members.set(member.memberId, member);
    return member;
  }

  private update(member: Member, request: JoinRequest): void {
    member.protocol = request.protocol;
    member.subscription = request.subscription;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.client = request.client;
    member.lastHeartbeat = this.context.now();
  }

  /** A new member id for the static member: the old one is fenced, and its pending join fails. */
  private replaceStatic(previous: Member, request: JoinRequest): Member {
    const member = this.add(request);
    member.plan = previous.plan;
    this.members.delete(previous.memberId);
    this.fenced.add(previous.memberId);
    if (this.leaderId === previous.memberId) this.leaderId = member.memberId;
    previous.pending?.reject(kafkaError('FENCED_INSTANCE_ID', `replaced by member ${member.memberId}`));
    previous.pending = undefined;
    previous.client.wake();
    return member;
  }

  private remove(member: Member, reason: KafkaErrorType): void {
    this.members.delete(member.memberId);
    if (this.leaderId === member.memberId) this.leaderId = undefined;
    member.pending?.reject(kafkaError(reason, `member ${member.memberId} left group ${this.groupId}`));
    member.pending = undefined;
    member.client.wake();
    this.triggerRebalance();
    this.tryComplete();
  }

  private resultFor(member: Member): JoinResult {
    return {
      memberId: member.memberId,
      generationId: this.generation,
      plan: member.plan,
      leader: this.leaderId === member.memberId,
    };
  }

  private tryComplete(): void {
    if (this.state !== 'PreparingRebalance') return;
    const members = [...this.members.values()];
    if (members.length === 0) {
      this.state = 'Empty';
      return;
    }
    if (members.some((m) => m.pending === undefined)) return;
    void this.complete(members);
  }

  /** Every member has rejoined: a new generation, whose leader plans the assignment. */
  private async complete(members: Member[]): Promise<void> {
    this.state = 'CompletingRebalance';
    this.generation++;
    if (this.leaderId === undefined || !this.members.has(this.leaderId)) {
      this.leaderId = [...members].sort((a, b) => a.pending!.order - b.pending!.order)[0]!.memberId;
    }
    const leader = this.members.get(this.leaderId)!;
    let plans: Map<string, MemberPlan>;
    try {
      plans = await leader.protocol.assign(
        members.map((m) => ({
          memberId: m.memberId,
          ...(m.groupInstanceId === undefined ? {} : { groupInstanceId: m.groupInstanceId }),
          userData: m.subscription,
        })),
        (topic) => this.context.partitionCount(topic),
      );
    } catch (err) {
      // The leader's client fails and leaves; the others rejoin under a new leader.
      this.state = 'PreparingRebalance';
      this.rebalanceAgain = false;
      this.members.delete(leader.memberId);
      this.leaderId = undefined;
      leader.pending?.reject(err);
      leader.pending = undefined;
      this.rebalanceStartedAt = this.context.now();
      this.tryComplete();
      return;
    }
    this.state = 'Stable';
    this.context.touch();
    for (const m of members) {
      if (this.members.get(m.memberId) !== m || m.pending === undefined) continue;
      m.plan = plans.get(m.memberId);
      const pending = m.pending;
      m.pending = undefined;
      pending.resolve(this.resultFor(m));
    }
    const changed =
      [...this.members.values()].some((m) => !members.includes(m)) ||
      members.some((m) => this.members.get(m.memberId) !== m);
    if (this.rebalanceAgain || changed) {
      this.rebalanceAgain = false;
      this.triggerRebalance();
    }
  }
}
