// When one side of a differential run is done: its consumer group has committed the end of every topic it reads
// (inputs and its internal topics) and its output did not grow between two such checks.
import type { Admin } from 'kafkajs';

export interface Side {
  /** For progress messages: "<scenario> (<side>)". */
  label: string;
  /** The application id: consumer group and prefix of its internal topics. */
  groupId: string;
  inputs: string[];
  output: string;
}

export interface SideProgress {
  /** Records in the topics the group reads that it has not committed yet. */
  behind: number;
  outputRecords: number;
}

/** Topics the group consumes: its inputs and its internal topics (repartition, subscription, …; not changelogs). */
async function consumedTopics(admin: Admin, side: Side): Promise<string[]> {
  const internal = (await admin.listTopics()).filter(
    (t) => t.startsWith(`${side.groupId}-`) && !t.endsWith('-changelog'),
  );
  return [...new Set([...side.inputs, ...internal])];
}

const endOf = async (admin: Admin, topic: string) =>
  new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));

/**
 * Where the side stands. Committed offsets are read before end offsets: a record an upstream task wrote to an
 * internal topic before committing its input is then inside the end offsets this compares with.
 */
export async function progressOf(admin: Admin, side: Side): Promise<SideProgress> {
  const topics = await consumedTopics(admin, side);
  const committed = await admin.fetchOffsets({ groupId: side.groupId, topics });
  let behind = 0;
  for (const { topic, partitions } of committed) {
    const ends = await endOf(admin, topic);
    for (const [partition, end] of ends) {
      const offset = Number(partitions.find((p) => p.partition === partition)?.offset ?? -1);
      behind += Math.max(0, end - Math.max(0, offset));
    }
  }
  let outputRecords = 0;
  for (const end of (await endOf(admin, side.output)).values()) outputRecords += end;
  return { behind, outputRecords };
}

/**
 * Resolves once the side has committed everything it reads and its output stayed the same size across two
 * consecutive checks; logs where it stands every `reportEveryMs`.
 */
export async function waitCaughtUp(
  admin: Admin,
  side: Side,
  {
    timeoutMs = 120_000,
    intervalMs = 300,
    reportEveryMs = 5_000,
    log = (msg: string) => process.stderr.write(`${msg}\n`),
    check = () => {},
  }: {
    timeoutMs?: number;
    intervalMs?: number;
    reportEveryMs?: number;
    log?: (msg: string) => void;
    /** Called on every round: throws to give up (e.g. the application failed). */
    check?: () => void;
  } = {},
): Promise<SideProgress> {
  const started = Date.now();
  let reported = started;
  let settledAt: number | undefined;
  let last: SideProgress | undefined;
  while (Date.now() - started < timeoutMs) {
    check();
    const now = await progressOf(admin, side);
    if (now.behind === 0 && settledAt === now.outputRecords) return now;
    settledAt = now.behind === 0 ? now.outputRecords : undefined;
    last = now;
    if (Date.now() - reported >= reportEveryMs) {
      reported = Date.now();
      log(
        `${side.label}: ${now.behind} input records not committed yet, ${now.outputRecords} output records`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `${side.label} did not catch up within ${timeoutMs} ms: ${last?.behind} input records not committed, ` +
      `${last?.outputRecords} output records`,
  );
}
