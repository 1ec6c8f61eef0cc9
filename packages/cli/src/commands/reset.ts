// `eddy reset`: an application starts over: input offsets moved, internal topics deleted, local state wiped or flagged.
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Admin } from 'kafkajs';
import { type ConnectionFlags, connectionOptions, withAdmin } from '../connection.js';
import { invalidArgument } from '../errors.js';
import {
  byPartition,
  committedOffsets,
  type PartitionOffset,
  partitionBounds,
  requireEmptyGroup,
  requireTopics,
  setOffsets,
} from '../group.js';
import { internalTopicsOf } from '../internal-topics.js';
import { Output, table } from '../output.js';
import { timestamp } from '../parse.js';
import { appOptions } from './app-options.js';

interface ResetFlags extends ConnectionFlags {
  applicationId: string;
  inputTopics?: string[];
  toEarliest?: boolean;
  toLatest?: boolean;
  toTimestamp?: number;
  wipeState?: string;
  dryRun?: boolean;
  json?: boolean;
}

interface ResetReport {
  applicationId: string;
  dryRun: boolean;
  to: string;
  offsets: { topic: string; partition: number; from: bigint | null; to: bigint }[];
  deletedTopics: string[];
  /** The local state directory wiped, or null when it was left (see `reminder`). */
  wipedState: string | null;
  reminder?: string;
}

type Target = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'timestamp'; ms: number };

function targetOf(flags: ResetFlags): Target {
  const chosen = [flags.toEarliest, flags.toLatest, flags.toTimestamp !== undefined].filter(Boolean).length;
  if (chosen > 1) throw invalidArgument('choose one of --to-earliest, --to-latest and --to-timestamp');
  if (flags.toTimestamp !== undefined) return { kind: 'timestamp', ms: flags.toTimestamp };
  return flags.toLatest ? { kind: 'latest' } : { kind: 'earliest' };
}

function describeTarget(t: Target): string {
  return t.kind === 'timestamp' ? `timestamp ${new Date(t.ms).toISOString()}` : t.kind;
}

/** Where each partition of `topics` starts over. */
async function targetOffsets(admin: Admin, topics: string[], target: Target): Promise<PartitionOffset[]> {
  if (target.kind !== 'timestamp') {
    return (await partitionBounds(admin, topics)).map((b) => ({
      topic: b.topic,
      partition: b.partition,
      offset: target.kind === 'earliest' ? b.low : b.high,
    }));
  }
  const out: PartitionOffset[] = [];
  for (const topic of topics) {
    // The first offset whose record timestamp is at or after the time; the end offset where there is none.
    for (const o of await admin.fetchTopicOffsetsByTimestamp(topic, target.ms)) {
      out.push({ topic, partition: o.partition, offset: BigInt(o.offset) });
    }
  }
  return out.sort(byPartition);
}

function render(r: ResetReport): string {
  const verb = r.dryRun ? 'Would move' : 'Moved';
  const lines = [`${verb} input offsets of "${r.applicationId}" to ${r.to}:`];
  lines.push(
    r.offsets.length ? table(r.offsets, ['topic', 'partition', 'from', 'to']) : '  (no input partitions)',
  );
  lines.push(
    '',
    `${r.dryRun ? 'Would delete' : 'Deleted'} internal topics: ${r.deletedTopics.join(', ') || 'none'}`,
  );
  if (r.wipedState !== null) lines.push(`${r.dryRun ? 'Would wipe' : 'Wiped'} local state: ${r.wipedState}`);
  if (r.reminder !== undefined) lines.push('', r.reminder);
  return lines.join('\n');
}

export function registerReset(program: Command): void {
  connectionOptions(
    appOptions(
      program
        .command('reset')
        .description(
          'reset an application to process its input again: input offsets moved, internal topics deleted, local ' +
            'state wiped (--wipe-state) or to be wiped; refused while the group has members',
        ),
      'the input topics to move (default: the non-internal topics the group has committed offsets for)',
    )
      .option('--to-earliest', 'start over from the beginning of the input (default)')
      .option('--to-latest', 'skip to the end of the input')
      .option(
        '--to-timestamp <time>',
        'start from records at or after this time (epoch ms or ISO-8601)',
        timestamp('--to-timestamp'),
      )
      .option(
        '--wipe-state <dir>',
        "also delete this machine's local state: <dir>/<application-id> (the app's stateDir)",
      )
      .option('--dry-run', 'print what would change, change nothing')
      .option('--json', 'print JSON'),
  ).action(async (flags: ResetFlags) => {
    const target = targetOf(flags);
    const dryRun = flags.dryRun === true;
    const group = flags.applicationId;
    const report = await withAdmin(flags, async (admin): Promise<ResetReport> => {
      await requireEmptyGroup(admin, group, 'resetting it');
      const [topics, { groups }, committed] = await Promise.all([
        admin.listTopics(),
        admin.listGroups(),
        committedOffsets(admin, group),
      ]);
      const internal = internalTopicsOf(
        group,
        topics,
        groups.map((g) => g.groupId),
      );
      const inputs =
        flags.inputTopics ??
        [...new Set(committed.map((c) => c.topic))].filter(
          (t) => !internal.includes(t) && topics.includes(t),
        );
      await requireTopics(admin, inputs);
      const offsets = await targetOffsets(admin, inputs, target);
      const before = new Map(committed.map((c) => [`${c.topic}:${c.partition}`, c.offset]));
      if (!dryRun) {
        await setOffsets(admin, group, offsets);
        if (internal.length > 0) await admin.deleteTopics({ topics: internal, timeout: 30_000 });
      }
      return {
        applicationId: group,
        dryRun,
        to: describeTarget(target),
        offsets: offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          from: before.get(`${o.topic}:${o.partition}`) ?? null,
          to: o.offset,
        })),
        deletedTopics: internal,
        wipedState: null,
      };
    });
    if (flags.wipeState !== undefined) {
      const dir = join(resolve(flags.wipeState), group);
      if (!dryRun && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      report.wipedState = dir;
    } else {
      report.reminder =
        `Delete the local state of "${group}" on every instance before it starts again (<stateDir>/${group}, ` +
        "on Kubernetes the pods' volumes), or run this with --wipe-state <stateDir> where the state is local.";
    }
    new Output(flags.json === true).result(report, render);
  });
}
