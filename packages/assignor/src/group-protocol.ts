// Eddy's group protocol: each member's subscription bytes in, a plan per member (partitions + assignment bytes) out.

import { assignTasks } from './assign-tasks.js';
import {
  type AssignmentErrorCode,
  type DecodedSubscription,
  decodeSubscription,
  encodeGroupAssignment,
  encodeSubscription,
  type SubscriptionInfo,
} from './codec.js';
import { AssignorError } from './errors.js';
import type { AssignmentMember, AssignmentOptions, AssignmentPlan } from './plan.js';
import { partitionsOfTasks, planTasks, type TopicGroup, type TopicPartition } from './topic-groups.js';

/** The protocol name every member of an Eddy group announces in JoinGroup. */
export const EDDY_PROTOCOL_NAME = 'eddy';

/** A member as the leader sees it: its id and the bytes its `subscription()` returned. */
export interface ProtocolMember {
  readonly memberId: string;
  readonly groupInstanceId?: string;
  readonly userData: Buffer;
}

/** What the leader gives one member: the partitions its consumer fetches, and its encoded Eddy assignment. */
export interface ProtocolMemberPlan {
  partitions: TopicPartition[];
  userData: Buffer;
}

/** A group protocol as a Kafka client port carries it: opaque subscription bytes, and a plan per member. */
export interface EddyGroupProtocol {
  readonly name: string;
  subscription(): Buffer;
  assign(
    members: readonly ProtocolMember[],
    partitionCount: (topic: string) => number,
  ): Map<string, ProtocolMemberPlan>;
}

export interface EddyGroupProtocolOptions {
  /** The subtopologies and their co-partitioned source topics: one task per partition of each. */
  readonly topicGroups: readonly TopicGroup[];
  /** This member's subscription; called at every join, since lags change between rebalances. */
  readonly subscription: () => SubscriptionInfo;
  readonly assignmentOptions?: Partial<AssignmentOptions>;
  /**
   * The partition counts the application validated at start. A source topic whose count differs when this member
   * leads makes every member's assignment carry SOURCE_TOPIC_PARTITIONS_CHANGED (nothing is assigned).
   */
  readonly expectedPartitions?: ReadonlyMap<string, number>;
  /** Told when this member, as leader, writes an error code into every assignment, with the reason. */
  readonly onAssignmentError?: (code: AssignmentErrorCode, reason: string) => void;
  /**
   * Told when this member, as leader, leaves out a member whose subscription is not Eddy userData it can read
   * (`ASSIGNOR_DECODE_FAILED`): that member gets no partitions and empty userData, the others are assigned as if it
   * were not in the group.
   */
  readonly onMemberIgnored?: (memberId: string, error: AssignorError) => void;
}

/**
 * The `eddy` group protocol. The leader decodes every subscription, makes the tasks of the topic groups, runs
 * `assignTasks`, and gives each member the partitions of its active tasks plus its assignment userData, written in
 * the lowest codec version of the group. It remembers which identity had which active tasks, so stateless tasks
 * stay where they were when members rejoin under new member ids. A problem every member must hear about (missing
 * metadata, changed partition counts) becomes an error code in every assignment, never an exception.
 */
export function eddyGroupProtocol(options: EddyGroupProtocolOptions): EddyGroupProtocol {
  const { topicGroups, expectedPartitions } = options;
  checkTopicGroups(topicGroups);
  // The last active tasks this leader gave each identity: keeps stateless tasks sticky.
  const previousActive = new Map<string, readonly string[]>();

  return {
    name: EDDY_PROTOCOL_NAME,
    subscription: () => encodeSubscription(options.subscription()),
    assign(members, partitionCount) {
      const subscriptions: { memberId: string; subscription: DecodedSubscription }[] = [];
      const ignored: string[] = [];
      for (const member of members) {
        const decoded = decodeMember(member);
        if (decoded instanceof AssignorError) {
          ignored.push(member.memberId);
          options.onMemberIgnored?.(member.memberId, decoded);
        } else {
          subscriptions.push(decoded);
        }
      }
      const assignmentMembers = subscriptions.map(({ memberId, subscription }) =>
        toAssignmentMember(memberId, subscription, previousActive.get(subscription.identity)),
      );
      const tasks = planTasks(topicGroups, partitionCount, expectedPartitions);
      let plan: AssignmentPlan;
      let errorCode: AssignmentErrorCode = 'NONE';
      if ('error' in tasks) {
        plan = emptyPlan(assignmentMembers);
        errorCode = tasks.error;
        options.onAssignmentError?.(tasks.error, tasks.reason);
      } else {
        plan = assignTasks({
          members: assignmentMembers,
          tasks: tasks.tasks,
          options: options.assignmentOptions ?? {},
        });
        previousActive.clear();
        for (const { memberId, subscription } of subscriptions) {
          previousActive.set(subscription.identity, plan.members.get(memberId)?.active ?? []);
        }
      }
      const versions = new Map(subscriptions.map((s) => [s.memberId, s.subscription.latestSupportedVersion]));
      const { userData } = encodeGroupAssignment(plan, versions, errorCode);
      const plans = new Map<string, ProtocolMemberPlan>();
      for (const { memberId } of subscriptions) {
        plans.set(memberId, {
          partitions: partitionsOfTasks(plan.members.get(memberId)?.active ?? [], topicGroups),
          userData: userData.get(memberId) ?? Buffer.alloc(0),
        });
      }
      for (const memberId of ignored) plans.set(memberId, { partitions: [], userData: Buffer.alloc(0) });
      return plans;
    },
  };
}

/** Each subtopology once, each with a source topic, and no topic read by two subtopologies. */
function checkTopicGroups(topicGroups: readonly TopicGroup[]): void {
  const subtopologies = new Set<number>();
  const readBy = new Map<string, number>();
  for (const { subtopology, sourceTopics } of topicGroups) {
    if (!Number.isSafeInteger(subtopology) || subtopology < 0 || subtopologies.has(subtopology)) {
      throw new AssignorError(
        'ASSIGNOR_INVALID_INPUT',
        `subtopology ${subtopology} is invalid or given twice`,
      );
    }
    subtopologies.add(subtopology);
    if (sourceTopics.length === 0) {
      throw new AssignorError('ASSIGNOR_INVALID_INPUT', `subtopology ${subtopology} has no source topic`);
    }
    for (const topic of sourceTopics) {
      const other = readBy.get(topic);
      if (other !== undefined) {
        throw new AssignorError(
          'ASSIGNOR_INVALID_INPUT',
          `topic ${topic} is a source of subtopologies ${other} and ${subtopology}`,
        );
      }
      readBy.set(topic, subtopology);
    }
  }
}

/** The member's subscription, or the decode error that makes the leader leave the member out. */
function decodeMember(
  member: ProtocolMember,
): { memberId: string; subscription: DecodedSubscription } | AssignorError {
  try {
    return { memberId: member.memberId, subscription: decodeSubscription(member.userData) };
  } catch (cause) {
    return new AssignorError(
      'ASSIGNOR_DECODE_FAILED',
      `cannot read the subscription of member ${member.memberId}: ${(cause as Error).message}`,
      { cause },
    );
  }
}

function toAssignmentMember(
  memberId: string,
  s: DecodedSubscription,
  previousActive: readonly string[] | undefined,
): AssignmentMember {
  return {
    memberId,
    identity: s.identity,
    processId: s.processId,
    taskLags: s.taskLags,
    ...(previousActive === undefined ? {} : { previousActive }),
    ...(s.endpoint === undefined ? {} : { endpoint: s.endpoint }),
    ...(s.rack === undefined ? {} : { rack: s.rack }),
  };
}

function emptyPlan(members: readonly AssignmentMember[]): AssignmentPlan {
  const none = { active: [], standby: [], warmup: [] };
  return {
    members: new Map(members.map((m) => [m.memberId, none])),
    hostOf: new Map(),
    probingRebalanceNeeded: false,
  };
}
