// Which topics are an application's own internal topics: `<applicationId>-…-repartition` and `…-changelog`.

function isInternalTopic(applicationId: string, topic: string): boolean {
  return (
    topic.startsWith(`${applicationId}-`) && (topic.endsWith('-repartition') || topic.endsWith('-changelog'))
  );
}

/**
 * The internal topics of the application among `topics`, sorted. `groups` are the cluster's consumer groups: a
 * topic that is also named like the internal topic of an application whose id extends this one (`orders-v2-…` for
 * `orders`) belongs to that application and is left out.
 */
export function internalTopicsOf(applicationId: string, topics: string[], groups: string[] = []): string[] {
  const longer = groups.filter((g) => g.startsWith(`${applicationId}-`));
  return topics
    .filter((t) => isInternalTopic(applicationId, t) && !longer.some((g) => isInternalTopic(g, t)))
    .sort();
}
