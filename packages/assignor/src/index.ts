// Public API of @eddy/assignor.

export { assignTasks } from './assign-tasks.js';
export type {
  AssignmentErrorCode,
  AssignmentInfo,
  DecodedAssignment,
  DecodedSubscription,
  DecodeOptions,
  EncodedGroupAssignment,
  EncodeOptions,
  SubscriptionInfo,
} from './codec.js';
export {
  ASSIGNMENT_ERROR_CODES,
  decodeAssignment,
  decodeOwnAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeGroupAssignment,
  encodeSubscription,
  LATEST_CODEC_VERSION,
  MIN_CODEC_VERSION,
  negotiateVersion,
} from './codec.js';
export type { AssignorErrorCode } from './errors.js';
export { ASSIGNOR_ERROR_CODES, AssignorError, isAssignorError } from './errors.js';
export type {
  EddyGroupProtocol,
  EddyGroupProtocolOptions,
  ProtocolMember,
  ProtocolMemberPlan,
} from './group-protocol.js';
export { EDDY_PROTOCOL_NAME, eddyGroupProtocol } from './group-protocol.js';
export type { LoadedProcessId, LoadProcessIdOptions, ResolveIdentityOptions } from './identity.js';
export { loadOrCreateProcessId, ordinalOf, PROCESS_ID_FILE, resolveIdentity } from './identity.js';
export { murmur2, partitionForKey } from './murmur2.js';
export type {
  AssignmentInput,
  AssignmentMember,
  AssignmentOptions,
  AssignmentPlan,
  AssignmentTask,
  HostTasks,
  MemberAssignment,
} from './plan.js';
export { DEFAULT_ASSIGNMENT_OPTIONS } from './plan.js';
export type { KeyLocation, QueryRouter, QueryRoutingMetadata } from './routing.js';
export { createQueryRouter } from './routing.js';
export type { ParsedTaskId } from './task-id.js';
export { compareTaskIds, formatTaskId, parseTaskId } from './task-id.js';
export type { TopicGroup, TopicPartition } from './topic-groups.js';
export { partitionsOf } from './topic-groups.js';
