// One member of a consumer group over the library's protocol calls: JoinGroup with the port's GroupProtocol bytes,
// the leader's plan for every member (userData included) in SyncGroup, heartbeats, offset commits and LeaveGroup,
// all with the static member's instance id.

import type {
  ConsumerGroupMetadata,
  ConsumerOptions,
  GroupJoin,
  GroupMemberSubscription,
  MemberPlan,
  TopicPartitionOffset,
} from '../port.js';
import {
  type Assignment,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from './consumer-protocol.js';
import { errorType, offsetCommitError, portError } from './errors.js';
import { findCoordinator, type Library, type Platformatic, request } from './library.js';
import { sleep } from './sleep.js';

/** How long a rebalance may wait for the members to rejoin (Kafka's and kafkajs's default). */
export const REBALANCE_TIMEOUT_MS = 60_000;
/** The protocol name announced when the consumer has no GroupProtocol: the leader deals partitions round robin. */
const ROUND_ROBIN = 'roundrobin';
/** Errors that say the group moved on: this member must join again. */
const REJOIN = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);
/** Errors that say the group coordinator moved or is loading: look it up again and retry. */
const COORDINATOR_MOVED = new Set([
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
]);

interface JoinResponse {
  generationId: number;
  protocolName: string | null;
  leader: string;
  memberId: string | null;
  members: { memberId: string; groupInstanceId?: string | null; metadata: Buffer | null }[];
}

export class GroupMember {
  memberId = '';
  generationId = -1;
  /** The partitions of the latest join. */
  assigned: { topic: string; partition: number }[] = [];
  /** Set when the broker said the group is rebalancing or this member is gone from it. */
  rebalancing = true;
  /** Set by `requestRejoin()`: join again after the running batch. */
  rejoinRequested = false;
  private coordinator: number | undefined;
  /** Set by `leave()`: a join in progress gives up, and leaves again if the coordinator let it in meanwhile. */
  private left = false;
  private heartbeats: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;

  constructor(
    private readonly lib: Library,
    private readonly client: Platformatic.Base,
    private readonly options: ConsumerOptions,
    private readonly retryBudgetMs: number,
    private readonly onFatal: (err: unknown) => void,
  ) {}

  get needsJoin(): boolean {
    return this.rebalancing || this.rejoinRequested;
  }

  metadata(): ConsumerGroupMetadata {
    const { groupId, groupInstanceId } = this.options;
    return {
      groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      ...(groupInstanceId === undefined ? {} : { groupInstanceId }),
    };
  }

  /** Joins (or rejoins) the group and syncs: returns what this member got. */
  async join(topics: string[]): Promise<GroupJoin> {
    this.stopHeartbeats();
    const { groupId, sessionTimeoutMs, protocol } = this.options;
    const instanceId = this.options.groupInstanceId ?? null;
    const deadline = Date.now() + this.retryBudgetMs;
    for (let attempt = 1; ; attempt++) {
      if (this.left) throw new Error('the member left the group during its join');
      try {
        this.rejoinRequested = false;
        const metadata = encodeSubscription({
          topics,
          userData: protocol?.subscription() ?? Buffer.alloc(0),
        });
        await this.coordinatorId();
        this.options.onJoinRequest?.({ rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS });
        const joined = await this.call<JoinResponse>('JoinGroup', [
          groupId,
          sessionTimeoutMs,
          REBALANCE_TIMEOUT_MS,
          this.memberId,
          instanceId,
          'consumer',
          [{ name: protocol?.name ?? ROUND_ROBIN, metadata }],
          null,
        ]);
        this.memberId = joined.memberId ?? this.memberId;
        this.generationId = joined.generationId;
        if (this.left) {
          // Left while the coordinator held the request: the generation it answered with goes on without this member.
          await this.leave();
          continue;
        }
        const plans = joined.leader === this.memberId ? await this.plan(joined.members) : [];
        const synced = await this.call<{ assignment: Buffer }>('SyncGroup', [
          groupId,
          this.generationId,
          this.memberId,
          instanceId,
          'consumer',
          joined.protocolName,
          plans,
        ]);
        const assignment = decodeAssignment(synced.assignment);
        this.assigned = assignment.partitions;
        this.rebalancing = false;
        this.startHeartbeats();
        return {
          assigned: assignment.partitions,
          generationId: this.generationId,
          memberId: this.memberId,
          userData: assignment.userData,
        };
      } catch (err) {
        const type = errorType(err);
        if (type === 'MEMBER_ID_REQUIRED') {
          this.memberId = memberIdOf(err) ?? this.memberId;
          continue;
        }
        if (type === 'UNKNOWN_MEMBER_ID') this.memberId = '';
        if (type !== undefined && REJOIN.has(type)) continue;
        if (!this.passing(err) || Date.now() >= deadline) throw portError(err);
        const retryInMs = Math.min(1_000, 100 * attempt);
        this.options.onCoordinatorWait?.({ reason: type ?? 'connection', attempt, retryInMs });
        await sleep(retryInMs);
      }
    }
  }

  /** The leader's plan: every member's bytes to the GroupProtocol (or round robin), each plan encoded. */
  private async plan(members: JoinResponse['members']): Promise<{ memberId: string; assignment: Buffer }[]> {
    const subscriptions = members.map((m) => ({ member: m, subscription: decodeSubscription(m.metadata) }));
    const topics = [...new Set(subscriptions.flatMap((s) => s.subscription?.topics ?? []))].sort();
    const metadata =
      topics.length === 0 ? undefined : await this.client.metadata({ topics, forceUpdate: true });
    const partitionCount = (topic: string) => metadata?.topics.get(topic)?.partitionsCount ?? 0;
    const protocol = this.options.protocol;
    const plans: Map<string, MemberPlan> =
      protocol === undefined
        ? roundRobin(
            subscriptions.map((s) => ({ memberId: s.member.memberId, topics: s.subscription?.topics ?? [] })),
            partitionCount,
          )
        : await protocol.assign(
            subscriptions.map(
              ({ member, subscription }): GroupMemberSubscription => ({
                memberId: member.memberId,
                ...(member.groupInstanceId == null ? {} : { groupInstanceId: member.groupInstanceId }),
                userData: subscription?.userData ?? Buffer.alloc(0),
              }),
            ),
            partitionCount,
          );
    return members.map((m) => {
      const plan = plans.get(m.memberId);
      const assignment: Assignment = {
        partitions: plan?.partitions ?? [],
        userData: plan?.userData ?? Buffer.alloc(0),
      };
      return { memberId: m.memberId, assignment: encodeAssignment(topics, assignment) };
    });
  }

  /** Sends one heartbeat now; a rebalance it learns of sets `rebalancing`. */
  heartbeat(): Promise<void> {
    if (this.generationId < 0 || this.rebalancing) return Promise.resolve();
    this.beating ??= this.call('Heartbeat', [
      this.options.groupId,
      this.generationId,
      this.memberId,
      this.options.groupInstanceId ?? null,
    ])
      .then(
        () => undefined,
        (err: unknown) => {
          const type = errorType(err);
          if (type === 'UNKNOWN_MEMBER_ID' && this.options.groupInstanceId === undefined) this.memberId = '';
          if (type !== undefined && REJOIN.has(type)) this.rebalancing = true;
          else if (type === 'FENCED_INSTANCE_ID') {
            this.stopHeartbeats();
            this.onFatal(portError(err));
          }
          // Anything else (a lost connection, a moving coordinator) is retried at the next beat.
        },
      )
      .finally(() => {
        this.beating = undefined;
      });
    return this.beating;
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    this.heartbeats = setInterval(() => void this.heartbeat(), this.options.heartbeatIntervalMs);
    this.heartbeats.unref();
  }

  stopHeartbeats(): void {
    if (this.heartbeats !== undefined) clearInterval(this.heartbeats);
    this.heartbeats = undefined;
  }

  /** Commits offsets in this member's generation: TASK_MIGRATED when the group has moved on. */
  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    const topics = new Map<
      string,
      {
        partitionIndex: number;
        committedOffset: bigint;
        committedLeaderEpoch: number;
        committedMetadata: null;
      }[]
    >();
    for (const o of offsets) {
      const partitions = topics.get(o.topic) ?? [];
      topics.set(o.topic, partitions);
      partitions.push({
        partitionIndex: o.partition,
        committedOffset: BigInt(o.offset),
        committedLeaderEpoch: -1,
        committedMetadata: null,
      });
    }
    try {
      await this.call('OffsetCommit', [
        this.options.groupId,
        this.generationId,
        this.memberId,
        this.options.groupInstanceId ?? null,
        [...topics].map(([name, partitions]) => ({ name, partitions })),
      ]);
    } catch (err) {
      if (REJOIN.has(errorType(err) ?? '')) this.rebalancing = true;
      throw offsetCommitError(err);
    }
  }

  /** The group's committed offsets of `partitions` (the next offset to read); absent where there is none. */
  async committed(partitions: { topic: string; partition: number }[]): Promise<Map<string, bigint>> {
    const topics = new Map<string, number[]>();
    for (const { topic, partition } of partitions)
      topics.set(topic, [...(topics.get(topic) ?? []), partition]);
    const out = new Map<string, bigint>();
    if (topics.size === 0) return out;
    const deadline = Date.now() + this.retryBudgetMs;
    for (;;) {
      try {
        const response = await this.call<{
          groups: {
            topics: { name: string; partitions: { partitionIndex: number; committedOffset: bigint }[] }[];
          }[];
        }>('OffsetFetch', [
          [
            {
              groupId: this.options.groupId,
              memberId: null,
              memberEpoch: -1,
              topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
            },
          ],
          // Not require_stable: the open transaction may be one of this app's own tasks from before a crash, which only
          // the task's producer, started after this join, ends. The runtime reads the offsets again once that producer
          // has fenced any earlier owner (`committedUpTo` in TaskManager), as it does on kafkajs.
          false,
        ]);
        for (const group of response.groups) {
          for (const topic of group.topics) {
            for (const p of topic.partitions) {
              if (p.committedOffset >= 0n) out.set(`${topic.name}:${p.partitionIndex}`, p.committedOffset);
            }
          }
        }
        return out;
      } catch (err) {
        if (!this.passing(err) || Date.now() >= deadline) throw portError(err);
        await sleep(100);
      }
    }
  }

  /** Leaves the group (LeaveGroup with the instance id of a static member); a member that is gone already is fine. */
  async leave(): Promise<void> {
    this.left = true;
    this.stopHeartbeats();
    if (this.memberId === '') return;
    const member = { memberId: this.memberId, groupInstanceId: this.options.groupInstanceId ?? null };
    await this.call('LeaveGroup', [this.options.groupId, [member]]).catch((err: unknown) => {
      if (errorType(err) !== 'UNKNOWN_MEMBER_ID') throw portError(err);
    });
    this.memberId = '';
    this.generationId = -1;
  }

  /** A failure after which the coordinator is looked up again and the call retried: it moved, or the connection broke. */
  private passing(err: unknown): boolean {
    const type = errorType(err);
    const network = (portError(err) as { code?: unknown }).code === 'PLT_KFK_NETWORK';
    if (network || (type !== undefined && COORDINATOR_MOVED.has(type))) {
      this.coordinator = undefined;
      return true;
    }
    return false;
  }

  /** The group coordinator's node id, looked up again after `passing` forgot it. */
  private async coordinatorId(): Promise<number> {
    this.coordinator ??= await findCoordinator(this.lib, this.client, 0, this.options.groupId);
    return this.coordinator;
  }

  private async call<T>(api: string, args: unknown[]): Promise<T> {
    return request<T>(this.lib, this.client, api, await this.coordinatorId(), args);
  }
}

/** The member id a JoinGroup answered MEMBER_ID_REQUIRED with. */
function memberIdOf(err: unknown): string | undefined {
  const visit = (e: unknown, depth: number): string | undefined => {
    if (typeof e !== 'object' || e === null || depth > 6) return undefined;
    const r = e as {
      memberId?: unknown;
      cause?: unknown;
      errors?: unknown;
      response?: { memberId?: unknown };
    };
    if (typeof r.memberId === 'string' && r.memberId !== '') return r.memberId;
    if (typeof r.response?.memberId === 'string' && r.response.memberId !== '') return r.response.memberId;
    for (const inner of [r.cause, ...(Array.isArray(r.errors) ? r.errors : [])]) {
      const found = visit(inner, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(err, 0);
}

/** Partitions dealt round robin over the members subscribed to each topic, in member id order. */
function roundRobin(
  members: { memberId: string; topics: string[] }[],
  partitionCount: (topic: string) => number,
): Map<string, MemberPlan> {
  const plans = new Map<string, MemberPlan>(
    members.map((m) => [m.memberId, { partitions: [], userData: Buffer.alloc(0) }]),
  );
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  let next = 0;
  for (const topic of topics) {
    const subscribed = sorted.filter((m) => m.topics.includes(topic));
    for (let partition = 0; partition < partitionCount(topic); partition++) {
      const member = subscribed[next++ % subscribed.length];
      if (member !== undefined) plans.get(member.memberId)?.partitions.push({ topic, partition });
    }
  }
  return plans;
}
