// Facts the runtime puts on a processor's context for the DSL's own processors; not part of the public API.

/**
 * True on the context of a processor whose output reaches a repartition topic in its subtopology. Records forwarded
 * outside of an input record (at a commit) carry no input position there, so a replay after an at-least-once crash
 * could not be told from new input downstream: tables feeding a repartition topic therefore forward each change at
 * once instead of folding them until the commit.
 */
export const FEEDS_REPARTITION_TOPIC: unique symbol = Symbol('eddy.feedsRepartitionTopic');
